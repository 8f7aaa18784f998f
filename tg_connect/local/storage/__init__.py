"""The local gateway's stores, in the place of TrustGraph's broker and store processors.

:mod:`.backend` (config, flows, the flow store topics and their consumers), :mod:`.taps` (the
broker's fan-out to export sockets), :mod:`.stores` (config, Arrow logs, knowledge cores,
each workspace's stores), :mod:`.triple_store` (pyoxigraph), :mod:`.library_store` (the
librarian's documents and uploads) and :mod:`.files` (atomic writes).
"""
