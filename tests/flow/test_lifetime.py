"""An ``Api`` nobody closed cleans up after itself: no "Unclosed client session" or "Unclosed
connector" on stderr when it is garbage-collected or when the interpreter exits.

Each case runs in a fresh interpreter (the noise comes at garbage collection and at exit, which a
test process cannot observe in itself) against the local gateway over real sockets.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import tg_connect

PRELUDE = """
import asyncio, gc, sys
from tg_connect import Api
URL = sys.argv[1]
"""

# name -> a script body that calls the gateway and drops its Api without close(). Each case
# costs an interpreter start, so related ones share a script.
CASES = {
    "sync, dropped (and a face kept whose Api was a temporary)": """
        api = Api(URL)
        assert isinstance(api.flow().list(), list)
        assert isinstance(api.socket().list(), list)
        del api
        gc.collect()
        flow, sock = Api(URL).flow(), Api(URL).socket()
        flow.list()
        sock.list()
        del flow, sock
    """,
    "async, dropped after asyncio.run (one Api on two loops, one after the other)": """
        api = Api(URL)
        async def main():
            await api.async_flow().list()
            await api.async_socket().list()
        asyncio.run(main())
        asyncio.run(main())
        del api
        gc.collect()
    """,
    "async, dropped on its own running loop, which ends at once or runs on": """
        async def main(run_on):
            api = Api(URL)
            await api.async_flow().list()
            await api.async_socket().list()
            del api
            gc.collect()
            if run_on:
                await asyncio.sleep(0.2)
        asyncio.run(main(False))
        asyncio.run(main(True))
    """,
    "alive at exit": """
        api = Api(URL)
        api.flow().list()
        api.socket().list()
    """,
    "in a reference cycle at exit": """
        class Holder:
            pass
        h = Holder()
        h.me, h.api = h, Api(URL)
        h.api.flow().list()
        h.api.socket().list()
        del h
    """,
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_unclosed_api_leaves_no_noise(local_gateway: tg_connect.LocalGateway, case: str) -> None:
    script = PRELUDE + textwrap.dedent(CASES[case]) + "print('ok')\n"
    done = subprocess.run(
        [sys.executable, "-c", script, local_gateway.url], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")
