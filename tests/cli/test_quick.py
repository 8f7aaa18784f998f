"""A quick command line: ``import tg_connect`` and the CLI's help and usage errors import no
heavy module (pandas, pyarrow, numpy, aiohttp, websockets, tqdm); the names still resolve, for
mypy and IDEs too; and the ``df.tg`` accessor works whichever of pandas and tg_connect comes first.

Run in fresh interpreters: this test process has imported everything already.
"""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest

import tg_connect
from tg_connect.sample import sample_path

HEAVY = ("pandas", "pyarrow", "numpy", "aiohttp", "websockets", "tqdm")


def python(code: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


LOADED = f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"


def test_import_tg_connect_loads_no_heavy_module() -> None:
    assert python(f"import sys, tg_connect\n{LOADED}").stdout == "[]\n"
    assert python("import tg_connect; import sys; assert 'pandas' not in sys.modules").stderr == ""


@pytest.mark.parametrize("argv", [["--help"], ["load", "--help"], ["dump", "--help"], ["load", "trip", "x"], []])
def test_cli_help_and_usage_errors_load_no_heavy_module(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from tg_connect import cli\n"
        "try:\n"
        f"    status = cli.main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    status = exc.code\n"
        "assert status in (0, 64), status\n"
        f"{LOADED}"
    )
    assert python(code).stdout.splitlines()[-1] == "[]"


def test_every_public_name_resolves() -> None:
    for name in tg_connect.__all__:
        assert getattr(tg_connect, name) is not None, name
    assert set(tg_connect.__all__) <= set(dir(tg_connect))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tg_connect.nope  # noqa: B018
    hints = typing.get_type_hints(tg_connect.read_trustgraph)
    assert hints["return"].__name__ == "DataFrame"


ACCESSOR = "assert type(pd.DataFrame({'s': []}).tg).__name__ == 'TrustGraphAccessor'\n"


@pytest.mark.parametrize(
    "code",
    [
        "import tg_connect, sys\nassert 'pandas' not in sys.modules\nimport pandas as pd\n" + ACCESSOR,
        "import pandas as pd\nimport tg_connect\n" + ACCESSOR,
        # a library that only asks whether pandas is installed does not use up the hook
        "import importlib.util, tg_connect\nassert importlib.util.find_spec('pandas')\nimport pandas as pd\n"
        + ACCESSOR,
        "import tg_connect\nfrom pandas import DataFrame\nimport pandas as pd\n" + ACCESSOR,
        "import tg_connect.cli\nimport pandas as pd\n" + ACCESSOR,
    ],
    ids=["tg_connect-first", "pandas-first", "find_spec", "from-import", "cli"],
)
def test_dataframe_accessor_whatever_the_import_order(code: str) -> None:
    python(code)


def test_pandas_keeps_its_resources_after_the_hook() -> None:
    python(
        "import importlib.resources, tg_connect, pandas\n"
        "assert importlib.resources.files('pandas').joinpath('__init__.py').is_file()\n"
    )


def test_a_command_line_load_imports_no_pandas_and_pyarrow_still_finds_it_later(
    local_gateway: tg_connect.LocalGateway, tmp_path: Path
) -> None:
    """pyarrow asks for pandas on its first ``pa.array(list)``; the CLI answers "no pandas" for
    a load, and pyarrow still uses pandas once it is really needed afterwards."""
    turtle = tmp_path / "small.ttl"
    turtle.write_text("".join(f'<http://e.org/s{i}> <http://e.org/p> "v{i}" .\n' for i in range(50)))
    code = (
        "import sys\n"
        "from tg_connect import cli\n"
        f"for source in ({str(turtle)!r}, {str(sample_path())!r}):\n"
        f"    assert cli.main(['load', 'triples', source, '--url', {local_gateway.url!r}, '--no-progress']) == 0\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
        "import pyarrow as pa\n"
        "assert type(pa.table({'a': [1]}).to_pandas()).__name__ == 'DataFrame'\n"
        "import pandas as pd\n"
        "assert pa.types.is_dictionary(pa.array(pd.Series(['x', 'y'], dtype='category')).type)  # seen as pandas\n"
        "assert type(pd.DataFrame().tg).__name__ == 'TrustGraphAccessor'\n"
    )
    python(code)
