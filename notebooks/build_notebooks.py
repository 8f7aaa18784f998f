"""Writes the worked-example notebooks from the cell sources below (run after editing them).

The notebooks are committed; this script keeps their JSON well-formed and reviewable as code.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

EXPLORE = [
    new_markdown_cell(
        "# Load a Parquet knowledge graph and explore it with pandas\n\n"
        "This notebook loads a knowledge graph from a Parquet file into TrustGraph with "
        "`tg_connect.to_trustgraph`, reads it back with `read_trustgraph`, and explores it with "
        "pandas. It uses `$TRUSTGRAPH_URL` if set, otherwise an in-process local gateway."
    ),
    new_code_cell(
        "import os\n"
        "import tempfile\n"
        "from pathlib import Path\n\n"
        "import pyarrow.parquet as pq\n\n"
        "import tg_connect\n"
        "from tg_connect.sample import sample_triples\n\n"
        "gateway = None\n"
        "url = os.environ.get('TRUSTGRAPH_URL')\n"
        "if url is None:\n"
        "    gateway = tg_connect.LocalGateway().start()\n"
        "    url = gateway.url\n"
        "token = os.environ.get('TRUSTGRAPH_TOKEN')"
    ),
    new_markdown_cell("A graph of 40,000 triples about people, companies and cities, written to Parquet:"),
    new_code_cell(
        "workdir = Path(tempfile.mkdtemp())\n"
        "path = workdir / 'graph.parquet'\n"
        "pq.write_table(sample_triples(40_000), path)\n"
        "pq.read_schema(path)"
    ),
    new_markdown_cell("Load it. The report renders as a table in a notebook:"),
    new_code_cell(
        "report = tg_connect.to_trustgraph(path, url=url, token=token, collection='notebook-graph')\n"
        "assert report.ok and report.rows_sent == 40_000\n"
        "report"
    ),
    new_markdown_cell("Read the stored graph back as a DataFrame (Arrow-backed dtypes):"),
    new_code_cell(
        "df = tg_connect.read_trustgraph('triples', url=url, token=token, collection='notebook-graph',\n"
        "                                dtype_backend='pyarrow')\n"
        "assert len(df) == 40_000\n"
        "df.head()"
    ),
    new_markdown_cell("## Counts"),
    new_code_cell("df['p'].value_counts()"),
    new_code_cell("df.groupby(['o_type', 'o_language'], dropna=False).size()"),
    new_markdown_cell(
        "## Degree distribution\n\nEvery person has the same out-degree here; the in-degree of "
        "companies and cities (people per employer, residents per city) is where the shape is:"
    ),
    new_code_cell(
        "out_degree = df.groupby('s').size()\n"
        "in_degree = df[df['o_type'] == 'iri'].groupby(['p', 'o']).size()\n"
        "employees = in_degree.loc['http://example.org/worksFor']\n"
        "residents = in_degree.loc['http://example.org/livesIn']\n"
        "out_degree.describe()"
    ),
    new_code_cell(
        "import matplotlib.pyplot as plt\n\n"
        "fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))\n"
        "employees.plot.hist(ax=axes[0], bins=30, title='people per company (in-degree of worksFor)')\n"
        "residents.sort_values().plot.bar(ax=axes[1], title='residents per city (in-degree of livesIn)')\n"
        "axes[1].set_xticklabels([])\n"
        "fig.tight_layout()"
    ),
    new_markdown_cell(
        "## Bad rows\n\nWith `on_error='skip'`, invalid rows are rejected into the report with their "
        "row, column and reason, and the rest loads:"
    ),
    new_code_cell(
        "bad = df.head(5).astype(object).copy()\n"
        "bad.loc[2, 's'] = None\n"
        "bad.loc[4, 'p'] = 'not an iri'\n"
        "skipped = tg_connect.to_trustgraph(bad, url=url, token=token, collection='notebook-bad',\n"
        "                                   on_error='skip', progress=False)\n"
        "assert skipped.rows_sent == 3 and [r.row for r in skipped.rejections] == [2, 4]\n"
        "skipped"
    ),
    new_code_cell("skipped.rejected_rows.to_pandas()"),
    new_code_cell("if gateway is not None:\n    gateway.stop()"),
]


EMBEDDINGS = [
    new_markdown_cell(
        "# Document embeddings: load, find neighbours, stream a document-RAG answer\n\n"
        "Text chunks go to the librarian, their embeddings (from the flow's own embedder) go in "
        "through the bulk `document-embeddings` socket as a DataFrame, and then the flow layer "
        "finds a question's nearest chunks and streams a document-RAG answer built from them. "
        "It uses `$TRUSTGRAPH_URL` if set, otherwise an in-process local gateway, whose built-in "
        "model and embedder run offline."
    ),
    new_code_cell(
        "import os\n\n"
        "import pandas as pd\n\n"
        "import tg_connect\n\n"
        "gateway = None\n"
        "url = os.environ.get('TRUSTGRAPH_URL')\n"
        "if url is None:\n"
        "    gateway = tg_connect.LocalGateway().start()\n"
        "    url = gateway.url\n"
        "api = tg_connect.Api(url, token=os.environ.get('TRUSTGRAPH_TOKEN'))\n"
        "flow = api.socket().flow('default')"
    ),
    new_markdown_cell("A small corpus, one chunk per row, stored as librarian documents:"),
    new_code_cell(
        "chunks = pd.DataFrame({\n"
        "    'chunk_id': [f'urn:notebook:chunk:{i}' for i in range(6)],\n"
        "    'text': [\n"
        "        'Knowledge cores bundle triples and graph embeddings into one snapshot.',\n"
        "        'Graph RAG answers questions from triples about the entities in the question.',\n"
        "        'Document RAG retrieves the chunks nearest to the question and answers from them.',\n"
        "        'Parquet files keep columns compressed on disk and load quickly into Arrow.',\n"
        "        'The import sockets never acknowledge messages, so clients pace large loads.',\n"
        "        'Embeddings place similar texts near each other in vector space.',\n"
        "    ],\n"
        "})\n"
        "library = api.library()\n"
        "for row in chunks.itertuples():\n"
        "    library.add_document(row.text.encode(), row.chunk_id, title=f'chunk {row.Index}')\n"
        "len(library.get_documents())"
    ),
    new_markdown_cell("Embed the chunks with the flow's embedder and load the vectors:"),
    new_code_cell(
        "chunks['vector'] = flow.embeddings(chunks['text'].tolist())\n"
        "report = tg_connect.to_trustgraph(chunks[['chunk_id', 'vector']], 'document-embeddings', url=url,\n"
        "                                  token=os.environ.get('TRUSTGRAPH_TOKEN'), progress=False)\n"
        "assert report.ok and report.rows_sent == 6\n"
        "report"
    ),
    new_markdown_cell("Nearest chunks to a question, as a DataFrame:"),
    new_code_cell(
        "question = 'How does document RAG answer a question?'\n"
        "neighbours = flow.document_embeddings_query(question, limit=3).to_pandas()\n"
        "neighbours = neighbours.merge(chunks[['chunk_id', 'text']], on='chunk_id')\n"
        "assert len(neighbours) == 3\n"
        "neighbours"
    ),
    new_markdown_cell("Stream a document-RAG answer: chunks are printed as they arrive:"),
    new_code_cell(
        "answer = []\n"
        "for event in flow.document_rag(question, streaming=True):\n"
        "    if isinstance(event, tg_connect.RAGChunk):\n"
        "        print(event, end='', flush=True)\n"
        "        answer.append(str(event))\n"
        "assert ''.join(answer).strip()"
    ),
    new_code_cell("api.close()\nif gateway is not None:\n    gateway.stop()"),
]


def write(name: str, cells: list[nbformat.NotebookNode]) -> None:
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    write("explore_knowledge_graph.ipynb", EXPLORE)
    write("document_embeddings_rag.ipynb", EMBEDDINGS)
