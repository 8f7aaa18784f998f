"""A local, embedded stand-in for the TrustGraph 2.11 API gateway.

A development and test target, **not a production store**: it speaks the gateway's wire
protocol (REST, the ``/api/v1/socket`` mux, the bulk import/export sockets, knowledge-core
import/export and the metrics API) over real sockets, so tg_connect, the upstream clients
and curl all talk to it as to a real deployment; but everything runs in one process on
embedded stores (pyoxigraph for triples, Arrow/Parquet for embeddings, contexts and rows,
msgpack for knowledge cores), in memory or under one data directory::

    from tg_connect.local import LocalGateway
    with LocalGateway(token="tg_secret") as gw:
        ...  # gw.url is e.g. "http://127.0.0.1:54321"

Three subpackages. :mod:`.front`, what a client connects to: :mod:`.front.server`
(``LocalGateway``, ``serve``, ``run_forever``), :mod:`.front.app` (routes), :mod:`.front.auth`,
:mod:`.front.socket` (``/api/v1/socket``), :mod:`.front.bulk_sockets` (import/export sockets),
:mod:`.front.wire` (the real translators' rules), :mod:`.front.gateway_metrics` (counters and
the metrics API). :mod:`.storage`, in the place of the broker and the store processors:
:mod:`.storage.backend` (config, flows, the store topics), :mod:`.storage.taps` (live export
taps), :mod:`.storage.stores`, :mod:`.storage.triple_store`, :mod:`.storage.library_store` and
:mod:`.storage.files`. :mod:`.standins`, the back-end services: :mod:`.standins.registration`
(each handler registers against :mod:`tg_connect.protocol.registry`), :mod:`.standins.dispatch`;
the global services in :mod:`.standins.admin` (config, flow, iam, collection-management),
:mod:`.standins.kg_cores` (knowledge) and :mod:`.standins.librarian`; the flow services in
:mod:`.standins.triples`, :mod:`.standins.inference`, :mod:`.standins.vectors`,
:mod:`.standins.retrieval` (graph-rag, document-rag), :mod:`.standins.agent`,
:mod:`.standins.sparql` and :mod:`.standins.structured` (rows, nlp-query, structured-query,
structured-diag, row-embeddings), with what they share in :mod:`.standins.flowctx`,
:mod:`.standins.model` (scripted LLM, OpenAI client, embedder), :mod:`.standins.templates`
(prompt templates) and :mod:`.standins.explain` (explainability triples).

Where it differs from a real 2.11 deployment, on purpose:

* Terms round-trip exactly (datatypes, language tags, blank nodes, quoted triples, named
  graphs); triples queries honour ``collection`` and ``g`` (``null`` = default graph,
  ``"*"`` = all). The real gateway's FalkorDB store loses most of these and ignores both.
* Every flow service answers, offline and deterministically, with the 2.11 frames: a
  built-in scripted model (the real test deployment's echo LLM; ``llm_url=`` /
  ``tg-connect serve --llm-url`` sends text completion to an OpenAI-compatible endpoint
  instead), prompt templates from config type ``prompt`` (seeded), a word-hash embedder,
  nearest-neighbour queries over the imported embeddings, graph-rag / document-rag / a ReAct
  agent built on those, SPARQL on the triple store, GraphQL over imported rows, and
  deterministic stand-ins where the real back end is a model or server the local gateway
  does not have (see :mod:`.standins.inference`, :mod:`.standins.structured`). The librarian keeps documents,
  processing records and chunked uploads. IAM answers as upstream's no-auth regime
  (``create-workspace`` creates a seeded workspace); one shared token stands in for
  identities.
* Writing to a collection that was never created stores the data and registers the
  collection (the real stores drop or stall on such writes).
* Export taps are subscribed before the handshake completes (no settling delay needed)
  and have bounded queues: a slow reader slows importers instead of growing memory.
* ``get-kg-core`` ends with ``{"eos": true}`` (the real one ends in a librarian error, and
  never completes, unless the core id is also a librarian document), cores keep
  literal datatypes and languages, and ``load-kg-core`` answers once the data is stored.
* One shared token instead of IAM; without one, bulk sockets also work without ``?token=``.
* Request bodies (:mod:`.front.app`): a caller whose credential is not accepted has at most 64 KiB
  of a REST body read (a longer one is a 401 at once; the real gateway reads and parses up
  to 256 MiB first), and an accepted caller's JSON body is capped at 64 MiB (413).
* No permessage-deflate on WebSockets; metrics are answered from the gateway's own
  counters (selectors, and sum/count/min/max/avg over them) instead of a Prometheus server. They include the
  store consumers' series with the real names and labels (``tg_consumer_processing_total``,
  ``tg_triples_store_write_batch_size``/``_duration_seconds``; :mod:`.front.gateway_metrics`), counted
  when the data is stored.
* Stores write at once, and an import socket's close handshake completes once everything
  it carried is stored. ``store_rows_per_second=`` (``tg-connect serve --store-rate``)
  instead behaves like a real deployment's slow stores behind a broker: frames are taken in
  at full speed and stored at that rate in the background (:mod:`.storage.backend`).
* With a data directory, a ``kill -9`` leaves the knowledge cores and the triple store
  agreeing once it restarts (:mod:`.storage.stores`).
"""

from .front.server import LocalGateway, run_forever, serve

__all__ = ["LocalGateway", "run_forever", "serve"]
