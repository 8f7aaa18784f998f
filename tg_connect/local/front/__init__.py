"""The local gateway's front: what a client connects to.

:mod:`.server` (``LocalGateway``, ``serve``, ``run_forever``), :mod:`.app` (the aiohttp
routes, in the real gateway's order of checks), :mod:`.auth` (the shared token),
:mod:`.socket` (``/api/v1/socket``, the request mux), :mod:`.bulk_sockets` (the bulk
import/export sockets), :mod:`.wire` (the real translators' rules) and
:mod:`.gateway_metrics` (the gateway's counters and the metrics API answered from them).
"""
