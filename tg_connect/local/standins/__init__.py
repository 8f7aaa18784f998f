"""The local gateway's stand-ins for TrustGraph's back-end services.

Each handler registers against :mod:`tg_connect.protocol.registry` (:mod:`.registration`);
:mod:`.dispatch` routes a request to it. Global services: :mod:`.admin` (config, flow, iam,
collection-management), :mod:`.kg_cores` (knowledge) and :mod:`.librarian`. Flow services:
:mod:`.triples`, :mod:`.inference`, :mod:`.vectors`, :mod:`.retrieval` (graph-rag,
document-rag), :mod:`.agent`, :mod:`.sparql` and :mod:`.structured`; what they share is in
:mod:`.flowctx`, :mod:`.model` (the scripted LLM, OpenAI client, embedder),
:mod:`.templates` (prompt templates) and :mod:`.explain` (explainability triples).
"""
