"""The command line as a whole: help, version, and every command documented with an example."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

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
        assert callback.__doc__ and "Example:\n  moviedl" in callback.__doc__, name
        result = invoke(*name, "--help")
        assert result.exit_code == 0, name
        for option in ("--lake", "--config", "--format", "--quiet", "--verbose", "--log-format"):
            assert option in result.stdout, (name, option)
        # these cover every date, or (deploying a job, listing its runs) concern none
        if name not in (("athena-ddl",), ("report",), ("runs",), ("init",), ("glue-job", "deploy"), ("glue-job", "status"),
                        ("quicksight", "deploy"), ("quicksight", "status"), ("quicksight", "remove")):
            assert "--date" in result.stdout, name


def test_no_arguments_shows_help(invoke) -> None:
    result = invoke()
    assert "ingest-csv" in result.output
    assert "Usage" in result.output


def test_exit_codes() -> None:
    from moviedl.core.errors import ExitCode

    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130]


def test_an_interrupt_outside_the_error_boundary_still_exits_130(tmp_path) -> None:
    """A signal while a command loads its modules reaches click ("Aborted!", exit 1) — main() makes it 130."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys, types\n"
        "from moviedl.core import interrupt\n"
        "class Interrupted(types.ModuleType):\n"
        "    def __getattr__(self, name):\n"
        "        interrupt.note()\n"
        "        raise KeyboardInterrupt\n"
        "sys.modules['moviedl.stages.refine.refine'] = Interrupted('moviedl.stages.refine.refine')\n"
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


def test_help_shows_words_not_python_types_and_groups_the_shared_options(invoke) -> None:
    for name, _ in all_commands():
        text = invoke(*name, "--help").stdout
        assert "<bool>" not in text and "<list[" not in text and "<str>" not in text, name
        assert "Lake and configuration" in text and "Output and logs" in text, name
    app_help = invoke("--help").stdout
    assert "Examples" in app_help and "--install-completion" in app_help


def test_date_help_says_what_the_date_means_for_each_command(invoke) -> None:
    def date_help(*command: str) -> str:
        lines = invoke(*command, "--help").stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.lstrip("│ ").startswith("--date"))
        return " ".join(lines[start:start + 2])

    assert "stored under" in date_help("ingest-csv")
    assert "looked up" in date_help("ingest-tmdb")
    assert "to refine" in date_help("refine")
    assert "checked" in date_help("validate")
    assert "to refine" in date_help("glue-job", "start")  # the date the Glue job's refine refines
    assert "--date" not in invoke("report", "--help").stdout  # the report covers every date


def test_logging_options_work_after_the_command_too(invoke, tmp_path, sample_lake) -> None:
    log = tmp_path / "moviedl.log"
    result = invoke("validate", "--lake", sample_lake, "-v", "--log-format", "json", "--log-file", log)
    assert result.exit_code == 0, result.output
    import json

    events = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    assert events and all("event" in e or "message" in e for e in events)


def test_the_cli_imports_no_click_of_its_own(tmp_path: Path) -> None:
    """Recent typer vendors click and no longer installs it (a plain `pip install .` has no
    click): the error boundary must work without it."""
    code = ("import sys; sys.modules['click'] = None\n"  # `import click` now fails
            "from moviedl.cli import main\n"
            f"sys.argv = ['moviedl', 'ingest-csv', {str(tmp_path / 'missing.csv')!r}, '--lake', {str(tmp_path / 'lake')!r}]\n"
            "main()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "missing.csv" in proc.stderr and "Traceback" not in proc.stderr


def _help_at_80_columns(*command: str) -> list[str]:
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-m", "moviedl", *command, "--help"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_help_at_80_columns_reads_as_prose_and_keeps_examples_whole() -> None:
    for name, callback in [(("--help",)[:0], None), *all_commands()]:
        lines = _help_at_80_columns(*name)
        assert all(len(line) <= 80 for line in lines), name
        description = lines[: next(i for i, line in enumerate(lines) if line.startswith("╭"))]
        paragraphs = "\n".join(line.strip() for line in description).split("\n\n")
        for paragraph in paragraphs:
            rows = [row for row in paragraph.splitlines() if row]
            if rows and not rows[0].startswith(("Example", "#", "moviedl", "Usage")):
                # a paragraph wraps at the width: no line but its last ends far from the edge
                assert all(len(row) > 55 for row in rows[:-1]), (name, paragraph)
        if callback is not None:  # every example command is on its lines whole, as in the docstring
            example = callback.__doc__.split("Example:\n", 1)[1]
            for line in inspect.cleandoc(example).splitlines():
                assert any(shown.strip() == line.strip() for shown in lines), (name, line)


def test_the_top_help_names_every_stage_run_does() -> None:
    text = " ".join(" ".join(_help_at_80_columns()).split())
    assert "The whole pipeline in order, for cron: ingest-csv, ingest-tmdb, refine, validate, athena-ddl" in text.replace(
        "│ ", "").replace(" │", "")


def test_zone_stage_dialect_and_kind_values_complete_in_the_shell(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "_MOVIEDL_COMPLETE": "complete_bash"}

    def complete(words: str) -> list[str]:
        as_moviedl = "import sys; sys.argv[0] = 'moviedl'; from moviedl.__main__ import main; main()"
        done = subprocess.run([sys.executable, "-c", as_moviedl], capture_output=True, text=True, timeout=60,
                              env={**env, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)})
        return done.stdout.split()

    assert complete("moviedl validate --zone ") == ["raw", "trusted", "refined", "all"]
    assert complete("moviedl validate --zone t") == ["trusted"]
    assert complete("moviedl refine --stage r") == ["refined"]
    assert complete("moviedl athena-ddl --dialect ") == ["athena", "duckdb"]
    assert complete("moviedl ingest-tmdb --kind s") == ["series"]


def test_init_writes_a_starter_config_that_a_subfolder_finds(invoke, tmp_path: Path, monkeypatch) -> None:
    project = tmp_path / "project"
    (project / "data" / "incoming").mkdir(parents=True)
    monkeypatch.chdir(project)
    result = invoke("init")
    assert result.exit_code == 0, result.output
    assert "next: set lake" in result.stdout
    config = project / "moviedl.toml"
    text = config.read_text()
    assert "# lake = " in text  # commented: changes nothing until edited
    again = invoke("init")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert config.read_text() == text  # left as it was
    config.write_text(text.replace('# lake = "./lake"', f'lake = "{tmp_path / "my-lake"}"', 1))
    monkeypatch.chdir(project / "data" / "incoming")  # like git, from any folder below
    shown = json.loads(invoke("config", "show", "--format", "json").stdout)
    values = {row["key"]: row for row in shown["rows"]}
    assert values["lake"]["value"] == str(tmp_path / "my-lake") and values["lake"]["source"] != "default"
    assert invoke("init", "--force").exit_code == 0


def test_runs_show_gives_one_run_in_full(invoke, tmp_path: Path, movies_csv: Path, series_csv: Path) -> None:
    lake = tmp_path / "lake"
    assert invoke("run", movies_csv, series_csv, "--lake", lake, "--date", "2024-05-01").exit_code == 0
    (listed,) = json.loads(invoke("runs", "--lake", lake, "--format", "json").stdout)["rows"]
    shown = invoke("runs", "show", listed["run_id"][:16], "--lake", lake, "--format", "json")
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.stdout)
    assert [r["stage"] for r in summary["rows"]] == ["ingest-csv", "refine", "validate"]
    refine = summary["rows"][1]
    assert refine["exit_code"] == 0 and refine["counts"]["tables"] == 7
    assert {c["name"] for c in summary["checks"]} >= {"freshness"}  # the warnings, not every passing check
    assert all(c["status"] != "pass" for c in summary["checks"])
    assert summary["notes"][0].startswith(f"run {listed['run_id']}: moviedl ")  # what was run, then when
    missing = invoke("runs", "show", "19990101T000000Z", "--lake", lake)
    assert missing.exit_code == 2 and "no run '19990101T000000Z'" in missing.stderr
    wrong = invoke("runs", "list", "--lake", lake)
    assert wrong.exit_code == 2 and "moviedl runs show RUN_ID" in wrong.stderr
