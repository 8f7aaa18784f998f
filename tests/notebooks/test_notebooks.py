"""The worked-example notebooks are committed with their outputs, and those outputs are current.

notebooks/build_notebooks.py writes each notebook from its cell sources, executes it (nbclient,
on its own in-process local gateway) and stores the outputs. Here each notebook is executed the
same way and its fresh outputs must equal the stored ones (a PNG by its pixels, see the script's
docstring), so a stale notebook fails with the cell that differs and the command that refreshes
it. Then each runs twice on one local gateway that keeps its data (a data directory and a token,
as ``tg-connect serve --data DIR --token T``): both runs must succeed and reproduce the stored
outputs, so a notebook that cannot run again (a document that already exists) or whose output
depends on what an earlier run left fails here.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import io
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from PIL import Image, ImageDraw

from tg_connect import Api, LocalGateway

ROOT = Path(__file__).resolve().parents[2]
STORED = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "notebooks" / "build_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build_script()
NAMES = sorted(build.NOTEBOOKS)


def _stored(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / name, as_version=4)


def _outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def _assert_reproduces(name: str, fresh: nbformat.NotebookNode, run: str) -> None:
    problems = build.cell_differences(_stored(name), fresh)
    if problems:
        pytest.fail(f"{run}: " + build.stale_message(name, problems), pytrace=False)


def test_the_stored_notebooks_are_the_scripts() -> None:
    assert [p.name for p in STORED] == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_stored_sources_are_current(name: str) -> None:
    problems = build.source_differences(_stored(name), build.skeleton(name))
    if problems:
        pytest.fail(build.stale_message(name, problems), pytrace=False)


@pytest.mark.parametrize("name", NAMES)
def test_stored_outputs_show_results_and_nothing_of_the_run(name: str) -> None:
    outputs = _outputs(_stored(name))
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("text/html" in o.get("data", {}) for o in outputs) >= 3  # the tables render on GitHub
    if name == "explore_knowledge_graph.ipynb":
        assert sum("image/png" in o.get("data", {}) for o in outputs) == 1  # the degree plot
    else:
        streamed = [o["text"] for o in outputs if o.get("output_type") == "stream"]
        assert streamed == [streamed[0]] and streamed[0].startswith("Based on: [Document RAG retrieves")
    text = "\n".join(str({k: v for k, v in o.get("data", {}).items() if k != "image/png"}) for o in outputs)
    text += "\n".join(str(o.get("text", "")) for o in outputs)
    for volatile in (
        r"/tmp/|/home/|" + re.escape(str(ROOT)),  # a path of the machine that ran it
        r"127\.0\.0\.1|localhost:\d",  # the gateway's address
        r"\b0x[0-9a-f]{6,}",  # an object's address
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-",  # a generated id
        r"rows/s|seconds|Warning",  # timings, warnings
    ):
        assert not re.search(volatile, text), f"{name}: a stored output matches {volatile!r}"


@pytest.mark.parametrize("name", NAMES)
def test_a_fresh_run_reproduces_the_stored_outputs(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRUSTGRAPH_URL", raising=False)  # its own in-process gateway, as the script runs it
    monkeypatch.delenv("TRUSTGRAPH_TOKEN", raising=False)
    _assert_reproduces(name, build.execute(build.skeleton(name)), "a fresh run")


@pytest.mark.parametrize("name", NAMES)
def test_it_runs_again_on_a_gateway_that_keeps_its_data(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with LocalGateway(data=tmp_path / "gateway", token="tg_notebooks") as gateway:
        monkeypatch.setenv("TRUSTGRAPH_URL", gateway.url)
        monkeypatch.setenv("TRUSTGRAPH_TOKEN", "tg_notebooks")
        for run in ("the first run on a persistent gateway", "the second run on the same gateway"):
            _assert_reproduces(name, build.execute(build.skeleton(name)), run)
        if name == "document_embeddings_rag.ipynb":  # its documents once each, not twice
            with Api(gateway.url, token="tg_notebooks") as api:
                ids = sorted(d.id for d in api.library().get_documents())
            assert ids == [f"urn:notebook:chunk:{i}" for i in range(6)]


# -- the comparison itself (no execution) -------------------------------------------------------


def _png(nb: nbformat.NotebookNode) -> str:
    return next(o["data"]["image/png"] for o in _outputs(nb) if "image/png" in o.get("data", {}))


def _with_png(nb: nbformat.NotebookNode, png: str) -> nbformat.NotebookNode:
    changed = copy.deepcopy(nb)
    for output in _outputs(changed):
        if "image/png" in output.get("data", {}):
            output["data"]["image/png"] = png
    return changed


def _edited_png(png: str, edit: Callable[[Image.Image], None]) -> str:
    image = Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB")
    edit(image)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_a_changed_table_is_reported_with_its_cell_and_the_refresh_command() -> None:
    stored = _stored("explore_knowledge_graph.ipynb")
    fresh = copy.deepcopy(stored)
    cell = next(c for c in fresh.cells if c.cell_type == "code" and c.source.startswith("report = "))
    cell.outputs[0]["data"]["text/plain"] = cell.outputs[0]["data"]["text/plain"].replace("40000", "39999")
    assert build.cell_differences(stored, stored) == []
    [problem] = build.cell_differences(stored, fresh)
    number = fresh.cells.index(cell) + 1
    assert problem.startswith(f"cell {number} (`report = tg_connect.to_trustgraph(`):")
    assert "output 1 (execute_result text/plain) differs" in problem
    assert "-rows_read                40000" in problem and "+rows_read                39999" in problem
    message = build.stale_message("explore_knowledge_graph.ipynb", [problem])
    assert message.startswith("notebooks/explore_knowledge_graph.ipynb: the stored notebook is stale")
    assert "python notebooks/build_notebooks.py" in message


def _bar(width: int, height: int) -> Callable[[Image.Image], None]:
    """An edit that draws a bar ``width`` by ``height`` pixels into the left plot."""

    def edit(image: Image.Image) -> None:
        x, y = image.size[0] // 10, image.size[1] // 4
        ImageDraw.Draw(image).rectangle((x, y, x + width - 1, y + height - 1), fill=(31, 119, 180))

    return edit


def test_a_plot_drawn_by_the_same_renderer_must_match_pixel_for_pixel() -> None:
    stored = _stored("explore_knowledge_graph.ipynb")
    png = _png(stored)
    assert stored.metadata["tg_connect"]["plots_rendered_with"] == build.renderer()
    assert build.cell_differences(stored, _with_png(stored, _edited_png(png, lambda image: None))) == []  # re-encoded
    [problem] = build.cell_differences(stored, _with_png(stored, _edited_png(png, _bar(13, 11))))  # one more in a bin
    assert problem.startswith("cell ") and "(`import matplotlib.pyplot as plt`)" in problem
    assert "image/png): 143 pixels differ (drawn by the same matplotlib and FreeType, so none may)" in problem


def test_a_plot_drawn_by_another_matplotlib_is_compared_within_a_tolerance() -> None:
    fresh = _stored("explore_knowledge_graph.ipynb")  # drawn by this environment's matplotlib
    stored = copy.deepcopy(fresh)
    stored.metadata["tg_connect"]["plots_rendered_with"] = {"matplotlib": "3.8.0", "freetype": "2.6.1"}
    png = _png(stored)
    width, height = Image.open(io.BytesIO(base64.b64decode(png))).size

    def noise(image: Image.Image) -> None:  # what another FreeType does to text: a few pixels
        for x in range(0, width, 50):
            r, g, b = image.getpixel((x, height // 2))
            image.putpixel((x, height // 2), (255 - r, 255 - g, 255 - b))

    assert build.cell_differences(stored, _with_png(fresh, _edited_png(png, noise))) == []
    [problem] = build.cell_differences(stored, _with_png(fresh, _edited_png(png, _bar(60, height // 2))))
    assert "of the image's pixels differ (tolerance 0.5% across matplotlib versions)" in problem
    resized = Image.open(io.BytesIO(base64.b64decode(png))).resize((width // 2, height // 2))
    out = io.BytesIO()
    resized.save(out, format="PNG")
    assert build.image_difference(png, base64.b64encode(out.getvalue()).decode(), exact=False) == (
        f"the image is {width // 2}x{height // 2} pixels, stored {width}x{height}"
    )
