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


def test_exit_codes() -> None:
    from moviedl.errors import ExitCode

    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130]


def test_an_interrupt_outside_the_error_boundary_still_exits_130(tmp_path) -> None:
    """A signal while a command loads its modules reaches click ("Aborted!", exit 1) — main() makes it 130."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys, types\n"
        "from moviedl import interrupt\n"
        "class Interrupted(types.ModuleType):\n"
        "    def __getattr__(self, name):\n"
        "        interrupt.note()\n"
        "        raise KeyboardInterrupt\n"
        "sys.modules['moviedl.refine'] = Interrupted('moviedl.refine')\n"
        "from moviedl.cli import main\n"
        "sys.argv = ['moviedl', *sys.argv[1:]]\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", script, "refine", "--lake", str(tmp_path / "lake")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 130, done.stderr
    assert "Interrupted: nothing half-written was published." in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "lake").exists()
