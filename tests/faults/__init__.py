"""Fault-injection tests (dropped sockets, bodies cut short, stalled gateways), and the TCP
proxy that injects the faults (:mod:`.proxy`)."""

from __future__ import annotations

from .proxy import Direction, FaultProxy, Rule, Stats

__all__ = ["FaultProxy", "Rule", "Stats", "Direction"]
