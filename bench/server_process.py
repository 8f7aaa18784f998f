"""The benches' servers run in a process of their own, so the client is what a bench measures."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from typing import Any


def spawn(target: Callable[..., None], *args: Any, timeout: float = 120) -> tuple[mp.Process, int]:
    """Start ``target(port_queue, *args)`` in a fresh process; return it and the port it
    puts on the queue once it listens."""
    ctx = mp.get_context("spawn")
    ports: mp.Queue[int] = ctx.Queue()
    proc = ctx.Process(target=target, args=(ports, *args), daemon=True)
    proc.start()
    return proc, ports.get(timeout=timeout)
