"""The worked-example notebooks run top to bottom against the local gateway (nbclient)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # the notebooks target $TRUSTGRAPH_URL when set: run them on their own local gateway here
    monkeypatch.delenv("TRUSTGRAPH_URL", raising=False)
    monkeypatch.delenv("TRUSTGRAPH_TOKEN", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("text/html" in o.get("data", {}) for o in outputs)  # the report's HTML view
    if path.stem == "explore_knowledge_graph":
        assert any("image/png" in o.get("data", {}) for o in outputs)  # the degree plot
