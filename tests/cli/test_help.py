"""Help a person can use: every option says what it does with its default and unit, the kinds
are listed once, every command has a description, ``load --help`` ends with examples, and
``--version`` answers."""

from __future__ import annotations

import argparse
from importlib.metadata import version

import pytest

from tg_connect import cli
from tg_connect.protocol.schemas import KINDS
from tg_connect.readers.formats import FORMATS

from .helpers import run

COMMANDS = ["load", "dump", "export-core", "import-core", "serve", "demo"]


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no sub-commands")


def test_the_cli_lists_the_library_kinds_and_formats() -> None:
    """The parser is built without importing pyarrow, so it spells the lists out; they must match."""
    assert cli.KINDS == KINDS
    assert set(cli.FORMATS) == set(FORMATS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help_with_its_default(command: str) -> None:
    parser = subparsers(cli.build_parser())[command]
    assert parser.description and len(parser.description) > 40
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help is not argparse.SUPPRESS, f"{command} {name} has no help"
        if action.option_strings:
            assert "default" in action.help, f"{command} {name}: say the default: {action.help!r}"
        if action.option_strings and action.type in (cli._seconds,):
            assert action.metavar == "SECONDS", f"{command} {name}: say the unit"


def test_top_level_help_lists_commands_and_exit_status() -> None:
    result = run("--help")
    assert result.returncode == 0 and result.stderr == ""
    parser = cli.build_parser()
    for command, sub in subparsers(parser).items():
        assert command in result.stdout and sub.description
    for code in ("0 ", "1 ", "2 ", "64 ", "130 ", "141 "):
        assert f"\n  {code}" in result.stdout
    assert "--debug" in result.stdout and "--version" in result.stdout


def test_load_help_lists_kinds_once_and_ends_with_examples() -> None:
    result = run("load", "--help")
    assert result.returncode == 0 and result.stderr == ""
    text = result.stdout
    assert text.count("graph-embeddings,") == 1  # in KIND's description, not in the usage line
    usage = text.split("\n\n")[0]
    assert "KIND SOURCE" in usage and "{triples" not in usage
    examples = text.split("examples:\n", 1)[1]
    assert examples.count("tg-connect load ") >= 5  # one example a line
    for action in subparsers(cli.build_parser())["load"]._actions:
        for option in action.option_strings:
            assert option in text
    assert "(default: 1000)" in text and "(default: auto)" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0 and result.stderr == ""
    assert f"usage: tg-connect {command}" in result.stdout


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"tg-connect {version('tg-connect')}\n"
