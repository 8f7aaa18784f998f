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
        "import os, tempfile\n"
        "from pathlib import Path\n"
        "import pyarrow.parquet as pq\n"
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
        "import matplotlib.pyplot as plt\n"
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


def write(name: str, cells: list[nbformat.NotebookNode]) -> None:
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    write("explore_knowledge_graph.ipynb", EXPLORE)
