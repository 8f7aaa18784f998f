"""Writes the worked-example notebooks from the cell sources below, executes them, and stores
their outputs in them, so that the tables, the plot and the answers show on GitHub.

Run ``python notebooks/build_notebooks.py`` after editing a cell here, or when the tests say a
stored output is stale (a library upgrade can change how a table prints).
``python notebooks/build_notebooks.py --check`` executes them and compares without writing.

Every notebook runs on its own in-process local gateway here (``$TRUSTGRAPH_URL`` and
``$TRUSTGRAPH_TOKEN`` are ignored), and what the notebooks display is chosen to be the same on
every run: counts and tables, never timings, temporary paths or generated ids. So a fresh run
reproduces the stored outputs exactly, text and HTML alike. Plots are compared by their pixels,
not their PNG bytes (which also depend on the compressor): pixel for pixel when rendered with
the matplotlib and FreeType versions that drew the stored image (recorded in the notebook's
metadata); with other versions, text renders a little differently, so then the image must have
the same size and at most :data:`IMAGE_TOLERANCE` of its pixels visibly different, which catches
a changed layout or a wrong plot but not a small change of one bar; the numbers behind the plot
are shown in a table just before it and compared exactly.
"""

from __future__ import annotations

import argparse
import base64
import copy
import difflib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
REFRESH = "python notebooks/build_notebooks.py"
# the share of pixels that may differ visibly (by more than IMAGE_LEVEL in a channel) between
# a stored plot and a fresh one: text antialiasing across library versions stays well below it,
# a bar or a bin that moves does not
IMAGE_TOLERANCE = 0.005
IMAGE_LEVEL = 64
METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}

LOCAL_GATEWAY_NOTE = (
    "**Where it runs.** With `$TRUSTGRAPH_URL` set (and `$TRUSTGRAPH_TOKEN` if the gateway wants "
    "one), the notebook uses that TrustGraph gateway. Otherwise it starts tg_connect's local "
    "gateway in-process: a development and test target that speaks the TrustGraph 2.11 gateway "
    "protocol, not a production store. "
)
STAND_INS = (
    "The local gateway's LLM and embedder are **deterministic stand-ins, not real models**, so that "
    "everything runs offline and gives the same output every time:\n\n"
    "* the embedder counts a text's words into hash buckets: texts that share words come out near "
    "each other, but it knows nothing of meaning;\n"
    "* the LLM is scripted: its prompt templates echo what they are given, so a document-RAG "
    "answer quotes the retrieved chunks (`Based on: [...]`) instead of answering."
)
REAL_MODEL = (
    "To use a real LLM, start a local gateway that sends its LLM calls to an OpenAI-compatible "
    "server (Ollama, vLLM, llama.cpp's server, ...) and run the notebook against it:\n\n"
    "```\n"
    "tg-connect serve --llm-url http://localhost:11434/v1 --data ./tg-data\n"
    "export TRUSTGRAPH_URL=http://127.0.0.1:8088   # then start Jupyter\n"
    "```\n\n"
    "`--llm-url` covers every LLM call: text completion, the prompt service and what is built on "
    "it (graph RAG, document RAG, the agent). The model is `$TG_CONNECT_LLM_MODEL`, else the first "
    "one the server lists; a key is read from `$TG_CONNECT_LLM_API_KEY` or `$OPENAI_API_KEY`. "
    "Embeddings and reranking stay on their stand-ins (word-hash vectors, word-overlap scores): "
    "there is no option to replace them. "
    "A `--data` directory keeps the prompt templates it was created with, so start a new one for a "
    "real LLM. In Python, `tg_connect.LocalGateway(llm_url=...)` does the same. Or run against a "
    "real TrustGraph deployment, with its own models."
)
COUNTS = (
    "def counts(report):\n"
    '    """A LoadReport\'s counts, as a table."""\n'
    "    summary = report.summary()\n"
    '    keys = ["kind", "collection", "document_id", "rows_read", "rows_delivered", "rows_rejected", "ok"]\n'
    '    return pd.DataFrame({"value": [summary[key] for key in keys]}, index=keys)'
)
COUNTS_NOTE = (
    "`to_trustgraph` returns a `LoadReport`; on its own at the end of a cell it renders as an HTML "
    "table of everything it counted, including how long the load took and how fast it went. Those "
    "differ on every run, so this notebook, whose outputs are stored, shows a report's counts:"
)
SETUP = (
    "gateway = None\n"
    'url = os.environ.get("TRUSTGRAPH_URL")\n'
    "if url is None:\n"
    "    gateway = tg_connect.LocalGateway().start()\n"
    "    url = gateway.url\n"
    'token = os.environ.get("TRUSTGRAPH_TOKEN")\n'
    "api = tg_connect.Api(url, token=token)"
)

EXPLORE = [
    new_markdown_cell(
        "# Load a Parquet knowledge graph and explore it with pandas\n\n"
        "This notebook loads a knowledge graph from a Parquet file into TrustGraph with "
        "`tg_connect.to_trustgraph`, reads it back with `read_trustgraph`, and explores it with pandas."
    ),
    new_markdown_cell(
        LOCAL_GATEWAY_NOTE + "Its LLM and embedder are deterministic stand-ins, not real models (a scripted "
        "LLM and a word-hash embedder); this notebook uses neither, only the stores. For a real LLM, "
        "start `tg-connect serve --llm-url http://localhost:11434/v1` (any OpenAI-compatible server) and "
        "set `TRUSTGRAPH_URL=http://127.0.0.1:8088`; the document-RAG notebook says what that covers."
    ),
    new_code_cell(
        "import os\n"
        "import tempfile\n"
        "from pathlib import Path\n\n"
        "import pandas as pd\n"
        "import pyarrow.parquet as pq\n\n"
        "import tg_connect\n"
        "from tg_connect.sample import sample_triples\n\n" + SETUP
    ),
    new_markdown_cell(
        "The notebook writes to two collections of its own and empties them first, so it can run "
        "again on a gateway that keeps its data (`tg-connect serve --data DIR`):"
    ),
    new_code_cell(
        'for collection in ["notebook-graph", "notebook-bad"]:\n    api.collection().delete_collection(collection)'
    ),
    new_markdown_cell(COUNTS_NOTE),
    new_code_cell(COUNTS),
    new_markdown_cell("A graph of 40,000 triples about people, companies and cities, written to Parquet:"),
    new_code_cell(
        "workdir = tempfile.TemporaryDirectory()\n"
        'path = Path(workdir.name) / "graph.parquet"\n'
        "pq.write_table(sample_triples(40_000), path)\n"
        "pq.read_schema(path)"
    ),
    new_markdown_cell(
        "Load it (`progress=False`: the default draws a progress bar, which this stored output leaves out):"
    ),
    new_code_cell(
        "report = tg_connect.to_trustgraph(\n"
        '    path, url=url, token=token, collection="notebook-graph", document_id="notebook-graph", progress=False\n'
        ")\n"
        "assert report.ok and report.rows_delivered == 40_000\n"
        "counts(report)"
    ),
    new_markdown_cell("Read the stored graph back as a DataFrame (Arrow-backed dtypes), sorted:"),
    new_code_cell(
        'df = tg_connect.read_trustgraph("triples", url=url, token=token, collection="notebook-graph", '
        'dtype_backend="pyarrow")\n'
        'df = df.sort_values(["s", "p", "o"], ignore_index=True)\n'
        "assert len(df) == 40_000\n"
        "df.head()"
    ),
    new_markdown_cell("## Counts"),
    new_code_cell('df["p"].value_counts().sort_index()'),
    new_code_cell('df.groupby(["o_type", "o_language"], dropna=False).size()'),
    new_markdown_cell(
        "## Degree distribution\n\nEvery person has the same out-degree here; the in-degree of "
        "companies and cities (people per employer, residents per city) is where the shape is:"
    ),
    new_code_cell(
        'out_degree = df.groupby("s").size()\n'
        'in_degree = df[df["o_type"] == "iri"].groupby(["p", "o"]).size()\n'
        'employees = in_degree.loc["http://example.org/worksFor"]\n'
        'residents = in_degree.loc["http://example.org/livesIn"]\n'
        "pd.DataFrame(\n"
        "    {\n"
        '        "out-degree of people": out_degree.describe(),\n'
        '        "people per company": employees.describe(),\n'
        '        "residents per city": residents.describe(),\n'
        "    }\n"
        ")"
    ),
    new_code_cell(
        "import matplotlib.pyplot as plt\n\n"
        "fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))\n"
        'employees.plot.hist(ax=axes[0], bins=30, title="people per company (in-degree of worksFor)")\n'
        'residents.sort_values().plot.bar(ax=axes[1], title="residents per city (in-degree of livesIn)")\n'
        "axes[1].set_xticklabels([])\n"
        'axes[1].set_xlabel("cities, fewest residents first")\n'
        "fig.tight_layout()"
    ),
    new_markdown_cell(
        "## Bad rows\n\nWith `on_error='skip'`, invalid rows are rejected into the report with their "
        "row, column and reason, and the rest loads:"
    ),
    new_code_cell(
        "bad = df.head(5).astype(object).copy()\n"
        'bad.loc[2, "s"] = None\n'
        'bad.loc[4, "p"] = "not an iri"\n'
        "skipped = tg_connect.to_trustgraph(\n"
        '    bad, url=url, token=token, collection="notebook-bad", document_id="notebook-bad", '
        'on_error="skip", progress=False\n'
        ")\n"
        "assert skipped.rows_delivered == 3 and [r.row for r in skipped.rejections] == [2, 4]\n"
        "counts(skipped)"
    ),
    new_code_cell(
        'pd.set_option("display.max_colwidth", None)  # show the reasons whole\npd.DataFrame(skipped.rejections)'
    ),
    new_markdown_cell("The rejected rows themselves, to fix and load again:"),
    new_code_cell("skipped.rejected_rows.to_pandas()"),
    new_code_cell("api.close()\nworkdir.cleanup()\nif gateway is not None:\n    gateway.stop()"),
]


EMBEDDINGS = [
    new_markdown_cell(
        "# Document embeddings: load, find neighbours, stream a document-RAG answer\n\n"
        "Text chunks go to the librarian, their embeddings (from the flow's own embedder) go in "
        "through the bulk `document-embeddings` socket as a DataFrame, and then the flow layer "
        "finds a question's nearest chunks and streams a document-RAG answer built from them."
    ),
    new_markdown_cell(LOCAL_GATEWAY_NOTE + STAND_INS + "\n\n" + REAL_MODEL),
    new_code_cell(
        "import os\n\nimport pandas as pd\n\nimport tg_connect\n\n" + SETUP + "\n"
        'flow = api.socket().flow("default")\n'
        "library = api.library()\n"
        'COLLECTION = "notebook-rag"'
    ),
    new_markdown_cell("A small corpus, one chunk per row, with a stable id per chunk:"),
    new_code_cell(
        "chunks = pd.DataFrame(\n"
        "    {\n"
        '        "chunk_id": [f"urn:notebook:chunk:{i}" for i in range(6)],\n'
        '        "text": [\n'
        '            "Knowledge cores bundle triples and graph embeddings into one snapshot.",\n'
        '            "Graph RAG answers questions from triples about the entities in the question.",\n'
        '            "Document RAG retrieves the chunks nearest to the question and answers from them.",\n'
        '            "Parquet files keep columns compressed on disk and load quickly into Arrow.",\n'
        '            "The import sockets never acknowledge messages, so clients pace large loads.",\n'
        '            "Embeddings place similar texts near each other in vector space.",\n'
        "        ],\n"
        "    }\n"
        ")"
    ),
    new_markdown_cell(
        "A gateway that keeps its data (`tg-connect serve --data DIR`, or a real deployment) still "
        "holds what an earlier run stored, and the librarian refuses to add a document that exists. "
        "So the notebook first removes its own documents and empties its own collection:"
    ),
    new_code_cell(
        'ours = set(chunks["chunk_id"])\n'
        "for document in library.get_documents():\n"
        "    if document.id in ours:\n"
        "        library.remove_document(document.id)\n"
        "api.collection().delete_collection(COLLECTION)"
    ),
    new_markdown_cell("Store the chunks as librarian documents:"),
    new_code_cell(
        "for row in chunks.itertuples():\n"
        '    library.add_document(row.text.encode(), row.chunk_id, title=f"chunk {row.Index}")\n'
        "stored = [(d.id, d.title) for d in library.get_documents() if d.id in ours]\n"
        'pd.DataFrame(sorted(stored), columns=["id", "title"])'
    ),
    new_markdown_cell(COUNTS_NOTE),
    new_code_cell(COUNTS),
    new_markdown_cell("Embed the chunks with the flow's embedder and load the vectors:"),
    new_code_cell(
        'chunks["vector"] = flow.embeddings(chunks["text"].tolist())\n'
        "report = tg_connect.to_trustgraph(\n"
        '    chunks[["chunk_id", "vector"]],\n'
        '    "document-embeddings",\n'
        "    url=url,\n"
        "    token=token,\n"
        "    collection=COLLECTION,\n"
        '    document_id="notebook-rag",\n'
        "    progress=False,\n"
        ")\n"
        "assert report.ok and report.rows_delivered == 6\n"
        "counts(report)"
    ),
    new_markdown_cell("Nearest chunks to a question, as a DataFrame:"),
    new_code_cell(
        'question = "How does document RAG answer a question?"\n'
        "neighbours = flow.document_embeddings_query(question, limit=3, collection=COLLECTION).to_pandas()\n"
        'neighbours = neighbours.merge(chunks[["chunk_id", "text"]], on="chunk_id")\n'
        "assert len(neighbours) == 3\n"
        "neighbours.round(3)"
    ),
    new_markdown_cell(
        "Stream a document-RAG answer: chunks are printed as they arrive. (The stand-in LLM quotes "
        "the chunks it was given; a real one answers from them.)"
    ),
    new_code_cell(
        "answer = []\n"
        "for event in flow.document_rag(question, collection=COLLECTION, streaming=True):\n"
        "    if isinstance(event, tg_connect.RAGChunk):\n"
        '        print(event, end="", flush=True)\n'
        "        answer.append(str(event))\n"
        'assert "".join(answer).strip()'
    ),
    new_code_cell("api.close()\nif gateway is not None:\n    gateway.stop()"),
]

NOTEBOOKS: dict[str, list[nbformat.NotebookNode]] = {
    "explore_knowledge_graph.ipynb": EXPLORE,
    "document_embeddings_rag.ipynb": EMBEDDINGS,
}


def skeleton(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` as this script defines it, without outputs, with stable cell ids
    (nbformat draws random ones, which would change the file on every build)."""
    cells = copy.deepcopy(NOTEBOOKS[name])
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:02d}"
    return new_notebook(cells=cells, metadata=copy.deepcopy(METADATA))


def kernel_environment() -> dict[str, str]:
    """This process's environment, plus a filter for tqdm's warning that ipywidgets is missing:
    it is printed when tg_connect imports ``tqdm.auto`` in a kernel without ipywidgets, and it
    names a path in the environment, which no stored output may depend on."""
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), "ignore:IProgress not found"]))
    return env


def execute(nb: nbformat.NotebookNode, timeout: float = 300) -> nbformat.NotebookNode:
    """Run ``nb`` top to bottom in a fresh kernel (in a scratch directory); returns it with its
    outputs. The kernel inherits this process's environment, ``$TRUSTGRAPH_URL`` included."""
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    with tempfile.TemporaryDirectory(prefix="tg-notebook-") as scratch:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            coalesce_streams=True,  # one output per printed stream, not one per print
            record_timing=False,  # no timestamps in the cells' metadata
            resources={"metadata": {"path": scratch}},
        )
        client.execute(env=kernel_environment())
    nb.metadata = copy.deepcopy(METADATA)  # not the kernel's Python version: the same file on any
    nb.metadata["tg_connect"] = {"plots_rendered_with": renderer()}
    return nb


def renderer() -> dict[str, str]:
    """The versions that decide a plot's pixels: matplotlib's and the FreeType it was built with
    (the kernel runs this interpreter, so this process's are the kernel's)."""
    import matplotlib
    from matplotlib import ft2font

    return {"matplotlib": matplotlib.__version__, "freetype": str(ft2font.__freetype_version__)}


# -- comparing stored and fresh outputs ---------------------------------------------------------


def _streams_joined(outputs: list[Any]) -> list[dict[str, Any]]:
    """Outputs as plain dicts, consecutive stream outputs of the same name joined into one, and
    only the fields that show (not ``execution_count`` or display metadata)."""
    out: list[dict[str, Any]] = []
    for output in outputs:
        item = {k: output[k] for k in ("output_type", "name", "text", "data", "ename", "evalue") if k in output}
        if "data" in item:
            item["data"] = dict(item["data"])
        previous = out[-1] if out else None
        if item["output_type"] == "stream" and previous is not None and previous.get("name") == item.get("name"):
            previous["text"] += item["text"]
        else:
            out.append(item)
    return out


def image_difference(stored: str, fresh: str, exact: bool) -> str | None:
    """Why two base64 PNGs are not the same picture, or ``None`` if they are: ``exact`` asks for
    every pixel the same (same renderer), else the tolerance of the module docstring."""
    if stored == fresh:
        return None
    from PIL import Image, ImageChops

    a = Image.open(io.BytesIO(base64.b64decode(stored))).convert("RGB")
    b = Image.open(io.BytesIO(base64.b64decode(fresh))).convert("RGB")
    if a.size != b.size:
        return f"the image is {b.size[0]}x{b.size[1]} pixels, stored {a.size[0]}x{a.size[1]}"
    histogram = ImageChops.difference(a, b).convert("L").histogram()
    if exact:
        changed = a.size[0] * a.size[1] - histogram[0]
        if changed:
            return f"{changed:,} pixels differ (drawn by the same matplotlib and FreeType, so none may)"
        return None
    share = sum(histogram[IMAGE_LEVEL + 1 :]) / (a.size[0] * a.size[1])
    if share > IMAGE_TOLERANCE:
        return f"{share:.1%} of the image's pixels differ (tolerance {IMAGE_TOLERANCE:.1%} across matplotlib versions)"
    return None


def _text_difference(what: str, stored: str, fresh: str) -> str:
    diff = difflib.unified_diff(stored.splitlines(), fresh.splitlines(), "stored", "fresh", lineterm="", n=1)
    lines = list(diff)
    shown = "\n".join(f"      {line}" for line in lines[:24])
    more = f"\n      ... {len(lines) - 24} more diff lines" if len(lines) > 24 else ""
    return f"{what} differs:\n{shown}{more}"


def _output_differences(index: int, stored: dict[str, Any], fresh: dict[str, Any], exact: bool) -> Iterator[str]:
    where = f"output {index + 1} ({fresh['output_type']}"
    for key in ("output_type", "name", "ename", "evalue"):
        if stored.get(key) != fresh.get(key):
            yield f"{where}) {key}: stored {stored.get(key)!r}, fresh {fresh.get(key)!r}"
            return
    if "text" in fresh:
        if stored.get("text") != fresh["text"]:
            yield _text_difference(f"{where} {fresh.get('name')})", str(stored.get("text")), fresh["text"])
        return
    stored_data, fresh_data = stored.get("data", {}), fresh.get("data", {})
    if sorted(stored_data) != sorted(fresh_data):
        yield f"{where}) shows {sorted(fresh_data)}, stored {sorted(stored_data)}"
        return
    for mime, value in fresh_data.items():
        if mime == "image/png":
            why = image_difference(stored_data[mime], value, exact)
            if why is not None:
                yield f"{where} {mime}): {why}"
        elif stored_data[mime] != value:
            yield _text_difference(f"{where} {mime})", _text(stored_data[mime]), _text(value))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def cell_differences(stored: nbformat.NotebookNode, fresh: nbformat.NotebookNode) -> list[str]:
    """Where ``fresh``'s outputs differ from ``stored``'s: one message per cell, naming the cell
    (its number and first line) and what differs. Empty when they are the same."""
    exact = _rendered_with(stored) == _rendered_with(fresh)
    problems = []
    for number, (old, new) in enumerate(zip(stored.cells, fresh.cells, strict=True), start=1):
        if new.cell_type != "code":
            continue
        olds, news = _streams_joined(old.get("outputs", [])), _streams_joined(new.get("outputs", []))
        pairs = enumerate(zip(olds, news, strict=False))
        found = [msg for i, (a, b) in pairs for msg in _output_differences(i, a, b, exact)]
        if len(olds) != len(news):
            found.append(f"{len(news)} outputs, stored {len(olds)}")
        if found:
            first = new.source.splitlines()[0] if new.source else ""
            problems.append(f"cell {number} (`{first}`):\n    " + "\n    ".join(found))
    return problems


def _rendered_with(nb: nbformat.NotebookNode) -> Any:
    return nb.metadata.get("tg_connect", {}).get("plots_rendered_with")


def source_differences(stored: nbformat.NotebookNode, built: nbformat.NotebookNode) -> list[str]:
    """Where the stored notebook's cells (type, id, source) differ from this script's."""
    if len(stored.cells) != len(built.cells):
        return [f"{len(stored.cells)} cells, this script writes {len(built.cells)}"]
    return [
        f"cell {number}: its {key} differs from this script's"
        for number, (old, new) in enumerate(zip(stored.cells, built.cells, strict=True), start=1)
        for key in ("cell_type", "id", "source")
        if old.get(key) != new.get(key)
    ]


def stale_message(name: str, problems: list[str]) -> str:
    """The one message for a notebook whose stored copy is out of date."""
    body = "\n".join(f"  {p}" for p in problems)
    return (
        f"notebooks/{name}: the stored notebook is stale (a fresh run differs from it):\n{body}\n"
        f"Refresh the stored outputs with `{REFRESH}` and commit the notebooks."
    )


# -- the command ---------------------------------------------------------------------------------


def build(name: str, check: bool) -> list[str]:
    """Execute notebook ``name``; write it with its outputs, or (``check``) compare with the stored
    copy. Returns the problems found (empty when written, or when the stored copy is current)."""
    from nbclient.exceptions import CellExecutionError

    try:
        fresh = execute(skeleton(name))
    except CellExecutionError as exc:
        return [f"notebooks/{name} failed (nothing written):\n{exc}"]
    if not check:
        nbformat.write(fresh, HERE / name)
        return []
    stored = nbformat.read(HERE / name, as_version=4)
    problems = source_differences(stored, fresh) or cell_differences(stored, fresh)
    return [stale_message(name, problems)] if problems else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="execute and compare; write nothing")
    parser.add_argument("names", nargs="*", help=f"notebooks (default: all: {', '.join(NOTEBOOKS)})")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in NOTEBOOKS]
    if unknown:
        parser.error(f"no notebook {', '.join(unknown)}: choose from {', '.join(NOTEBOOKS)}")
    # the stored outputs come from an in-process local gateway, whatever this shell points at
    os.environ.pop("TRUSTGRAPH_URL", None)
    os.environ.pop("TRUSTGRAPH_TOKEN", None)
    problems = [p for name in args.names or NOTEBOOKS for p in build(name, args.check)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
