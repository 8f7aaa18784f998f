"""Every typed call of the gateway's services, in one namespace (``from tg_connect.protocol import
services as sv``).

The table of services is :mod:`.registry`; what calls share is :mod:`.calls`; the builders live in
one module per service family under :mod:`.builders`. Importing this module imports them all.
"""

from ..types import (
    AgentAnswer as AgentAnswer,
)
from ..types import (
    AgentObservation as AgentObservation,
)
from ..types import (
    AgentOptions as AgentOptions,
)
from ..types import (
    AgentThought as AgentThought,
)
from ..types import (
    Answer as Answer,
)
from ..types import (
    ChunkMatch as ChunkMatch,
)
from ..types import (
    ClozeResult as ClozeResult,
)
from ..types import (
    CollectionMetadata as CollectionMetadata,
)
from ..types import (
    ConfigKey as ConfigKey,
)
from ..types import (
    ConfigSnapshot as ConfigSnapshot,
)
from ..types import (
    ConfigValue as ConfigValue,
)
from ..types import (
    DocumentMetadata as DocumentMetadata,
)
from ..types import (
    DocumentRagOptions as DocumentRagOptions,
)
from ..types import (
    EntityMatch as EntityMatch,
)
from ..types import (
    ExplainEvent as ExplainEvent,
)
from ..types import (
    GraphRagOptions as GraphRagOptions,
)
from ..types import (
    KnowledgeCore as KnowledgeCore,
)
from ..types import (
    KnowledgeItem as KnowledgeItem,
)
from ..types import (
    McpResult as McpResult,
)
from ..types import (
    ModelInfo as ModelInfo,
)
from ..types import (
    NlpQueryResult as NlpQueryResult,
)
from ..types import (
    ProcessingMetadata as ProcessingMetadata,
)
from ..types import (
    PromptOptions as PromptOptions,
)
from ..types import (
    QueryOptions as QueryOptions,
)
from ..types import (
    RAGChunk as RAGChunk,
)
from ..types import (
    RerankResult as RerankResult,
)
from ..types import (
    RowMatch as RowMatch,
)
from ..types import (
    RowsResult as RowsResult,
)
from ..types import (
    ScoringResult as ScoringResult,
)
from ..types import (
    Source as Source,
)
from ..types import (
    SparqlResult as SparqlResult,
)
from ..types import (
    StreamingChunk as StreamingChunk,
)
from ..types import (
    StructuredDiagResult as StructuredDiagResult,
)
from ..types import (
    StructuredQueryResult as StructuredQueryResult,
)
from ..types import (
    Table as Table,
)
from ..types import (
    TextChunk as TextChunk,
)
from ..types import (
    TextCompletionOptions as TextCompletionOptions,
)
from ..types import (
    TripleList as TripleList,
)
from .builders.answers import (
    AGENT_FIELDS as AGENT_FIELDS,
)
from .builders.answers import (
    DOCUMENT_RAG_FIELDS as DOCUMENT_RAG_FIELDS,
)
from .builders.answers import (
    GRAPH_RAG_FIELDS as GRAPH_RAG_FIELDS,
)
from .builders.answers import (
    agent as agent,
)
from .builders.answers import (
    document_rag as document_rag,
)
from .builders.answers import (
    graph_rag as graph_rag,
)
from .builders.answers import (
    list_models as list_models,
)
from .builders.answers import (
    prompt as prompt,
)
from .builders.answers import (
    text_completion as text_completion,
)
from .builders.config import (
    blueprint_delete as blueprint_delete,
)
from .builders.config import (
    blueprint_get as blueprint_get,
)
from .builders.config import (
    blueprint_list as blueprint_list,
)
from .builders.config import (
    blueprint_put as blueprint_put,
)
from .builders.config import (
    config_all as config_all,
)
from .builders.config import (
    config_delete as config_delete,
)
from .builders.config import (
    config_get as config_get,
)
from .builders.config import (
    config_list as config_list,
)
from .builders.config import (
    config_put as config_put,
)
from .builders.config import (
    config_values as config_values,
)
from .builders.config import (
    flow_get as flow_get,
)
from .builders.config import (
    flow_list as flow_list,
)
from .builders.config import (
    flow_start as flow_start,
)
from .builders.config import (
    flow_stop as flow_stop,
)
from .builders.knowledge import (
    KNOWLEDGE_KINDS as KNOWLEDGE_KINDS,
)
from .builders.knowledge import (
    delete_core as delete_core,
)
from .builders.knowledge import (
    get_core as get_core,
)
from .builders.knowledge import (
    list_cores as list_cores,
)
from .builders.knowledge import (
    load_core as load_core,
)
from .builders.knowledge import (
    put_core as put_core,
)
from .builders.knowledge import (
    unload_core as unload_core,
)
from .builders.library import (
    add_document as add_document,
)
from .builders.library import (
    delete_collection as delete_collection,
)
from .builders.library import (
    get_document as get_document,
)
from .builders.library import (
    get_document_content as get_document_content,
)
from .builders.library import (
    list_collections as list_collections,
)
from .builders.library import (
    list_documents as list_documents,
)
from .builders.library import (
    list_processing as list_processing,
)
from .builders.library import (
    remove_document as remove_document,
)
from .builders.library import (
    start_processing as start_processing,
)
from .builders.library import (
    stop_processing as stop_processing,
)
from .builders.library import (
    update_collection as update_collection,
)
from .builders.library import (
    update_document as update_document,
)
from .builders.models import (
    cloze as cloze,
)
from .builders.models import (
    decision_scoring as decision_scoring,
)
from .builders.models import (
    field_extraction as field_extraction,
)
from .builders.models import (
    image_to_text as image_to_text,
)
from .builders.models import (
    mcp_tool as mcp_tool,
)
from .builders.models import (
    reranker as reranker,
)
from .builders.queries import (
    DIAG_OPERATIONS as DIAG_OPERATIONS,
)
from .builders.queries import (
    RERANK_SCHEMA as RERANK_SCHEMA,
)
from .builders.queries import (
    document_embeddings_query as document_embeddings_query,
)
from .builders.queries import (
    embeddings as embeddings,
)
from .builders.queries import (
    graph_embeddings_query as graph_embeddings_query,
)
from .builders.queries import (
    nlp_query as nlp_query,
)
from .builders.queries import (
    row_embeddings_query as row_embeddings_query,
)
from .builders.queries import (
    rows_query as rows_query,
)
from .builders.queries import (
    sparql_query as sparql_query,
)
from .builders.queries import (
    structured_diag as structured_diag,
)
from .builders.queries import (
    structured_query as structured_query,
)
from .builders.queries import (
    triples_query as triples_query,
)
from .calls import (
    Call as Call,
)
from .calls import (
    TermArg as TermArg,
)
from .calls import (
    call_single as call_single,
)
from .calls import (
    check_bool as check_bool,
)
from .calls import (
    check_carries as check_carries,
)
from .calls import (
    check_int as check_int,
)
from .calls import (
    check_known as check_known,
)
from .calls import (
    check_mapping as check_mapping,
)
from .calls import (
    check_str as check_str,
)
from .calls import (
    check_strs as check_strs,
)
from .calls import (
    check_vector as check_vector,
)
from .calls import (
    explain_event as explain_event,
)
from .calls import (
    extra_options as extra_options,
)
from .calls import (
    generic as generic,
)
from .calls import (
    last_frame as last_frame,
)
from .calls import (
    last_usage as last_usage,
)
from .calls import (
    missing as missing,
)
from .calls import (
    opt_int as opt_int,
)
from .calls import (
    opt_str as opt_str,
)
from .calls import (
    put_field as put_field,
)
from .calls import (
    service_error as service_error,
)
from .calls import (
    sources_of as sources_of,
)
from .calls import (
    term_arg as term_arg,
)
from .calls import (
    usage_of as usage_of,
)
from .registry import (
    FLOW_SERVICES as FLOW_SERVICES,
)
from .registry import (
    GLOBAL_SERVICES as GLOBAL_SERVICES,
)
from .registry import (
    OPERATION_CARRIES as OPERATION_CARRIES,
)
from .registry import (
    SERVICE_LIST as SERVICE_LIST,
)
from .registry import (
    SERVICES as SERVICES,
)
from .registry import (
    Service as Service,
)
from .registry import (
    service as service,
)
