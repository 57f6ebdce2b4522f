"""The command line as a whole: help, version, and every command documented with an example."""

from __future__ import annotations

import typer

from moviedl import __version__
from moviedl.cli import app


def all_commands(group: typer.Typer = app, prefix: tuple[str, ...] = ()):
    for info in group.registered_commands:
        yield (*prefix, info.name), info.callback
    for sub in group.registered_groups:
        yield from all_commands(sub.typer_instance, (*prefix, sub.name))


def test_version(invoke) -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"moviedl {__version__}"


def test_every_command_has_help_with_an_example_and_the_shared_options(invoke) -> None:
    commands = list(all_commands())
    assert ("ingest-csv",) in [name for name, _ in commands]
    for name, callback in commands:
        assert callback.__doc__ and "Example: moviedl" in callback.__doc__, name
        result = invoke(*name, "--help")
        assert result.exit_code == 0, name
        for option in ("--lake", "--config", "--date", "--format", "--quiet"):
            assert option in result.stdout, (name, option)


def test_no_arguments_shows_help(invoke) -> None:
    result = invoke()
    assert "ingest-csv" in result.output
    assert "Usage" in result.output
