"""Progress: a long step is never silent — live status on a terminal, a line every N seconds in a
log, and dbt-style stage lines from ``run``."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from moviedl.core import progress
from tests.conftest import SAMPLE_DATE, TIMESTAMP, untimed


def test_the_ticker_shows_what_the_work_says_it_is_doing() -> None:
    lines: list[str] = []
    seen = threading.Event()

    def show(line: str) -> None:
        lines.append(line)
        if "auditing dim_filmes" in line:
            seen.set()

    before = progress.current()  # what an earlier library call left (a test may call one bare)
    with progress.stage("refine"), progress.Ticker(show, every=0.01):
        progress.activity("auditing dim_filmes")
        assert seen.wait(5), lines
    assert any(line.startswith("refine: auditing dim_filmes (") and "elapsed)" in line for line in lines)
    assert progress.current() == before  # the stage ended: what was shown before is back


def test_off_a_terminal_a_command_prints_what_it_is_doing_while_it_runs(
    invoke, sample_lake: Path, monkeypatch
) -> None:
    monkeypatch.setenv("MOVIEDL_PROGRESS_SECONDS", "0.01")
    result = invoke("refine", "--lake", sample_lake, "--date", SAMPLE_DATE)
    assert result.exit_code == 0, result.output
    assert all(TIMESTAMP.match(line) for line in result.stderr.splitlines())  # cron logs: each line timed
    progress_lines = [line for line in untimed(result.stderr).splitlines() if line.startswith("moviedl refine: ")]
    # Each line names the stage (and what it is doing in it) and the time so far.
    assert progress_lines and all(line.startswith("moviedl refine: refine") for line in progress_lines)
    assert all(line.endswith(" elapsed)") for line in progress_lines)


def test_quiet_means_no_progress_lines(invoke, sample_lake: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOVIEDL_PROGRESS_SECONDS", "0.01")
    result = invoke("refine", "--lake", sample_lake, "--date", SAMPLE_DATE, "--quiet")
    assert result.exit_code == 0 and result.stderr == ""


def test_run_announces_each_stage_like_dbt(invoke, tmp_path: Path, movies_csv: Path, series_csv: Path) -> None:
    result = invoke("run", movies_csv, series_csv, "--lake", tmp_path / "lake", "--date", SAMPLE_DATE)
    assert result.exit_code == 0, result.output
    assert all(TIMESTAMP.match(line) for line in result.stderr.splitlines())
    stage_lines = [line for line in untimed(result.stderr).splitlines() if " of 6 " in line]
    assert stage_lines[0] == "1 of 6 START ingest-csv"
    assert re.fullmatch(r"1 of 6 OK ingest-csv \[\d+\.\ds\]", stage_lines[1])
    assert "2 of 6 SKIP ingest-tmdb" in stage_lines
    assert [line.split()[4] for line in stage_lines if " START " in line] == ["ingest-csv", "refine", "validate"]
    assert stage_lines[-2:] == ["5 of 6 SKIP athena-ddl", "6 of 6 SKIP quicksight"]


def test_run_reports_tmdb_progress_from_inside_its_ingest_tmdb_stage(
    tmp_path: Path, movies_csv: Path, fake_tmdb, monkeypatch
) -> None:
    from moviedl import api
    from tests.fake_tmdb import API_KEY

    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", fake_tmdb.url)
    monkeypatch.setenv("TMDB_API_KEY", API_KEY)
    states: list = []
    events: list = []
    settings = api.settings(lake=tmp_path / "lake", date=SAMPLE_DATE, **{"tmdb.requests_per_second": 1000})

    summary = api.run(settings, [movies_csv], on_stage=events.append, on_tmdb_progress=states.append)

    assert summary.ok, summary.problems
    assert states and states[-1].done == states[-1].total > 0  # the bar reaches the end
    # ... and it moved while the ingest-tmdb stage was the one running
    starts = [e.name for e in events if e.status == "start"]
    assert starts[:2] == ["ingest-csv", "ingest-tmdb"]


def _json_lines(stderr: str) -> list[dict]:
    lines = stderr.splitlines()
    assert lines
    return [json.loads(line) for line in lines]  # every line one JSON object, or this fails


@pytest.mark.parametrize("where", ["before", "after"], ids=["--log-format before the command", "after it"])
def test_json_logs_make_every_stderr_line_a_json_object(invoke, tmp_path: Path, movies_csv: Path,
                                                        series_csv: Path, monkeypatch, where: str) -> None:
    monkeypatch.setenv("MOVIEDL_PROGRESS_SECONDS", "0.01")
    flag = ["--log-format", "json"]
    args = ["run", movies_csv, series_csv, "--lake", tmp_path / "lake", "--date", SAMPLE_DATE]
    result = invoke(*(flag + args if where == "before" else args + flag))
    assert result.exit_code == 0, result.output
    records = _json_lines(result.stderr)
    stages = [(r["event"], r["fields"]["stage"]) for r in records if r["event"].startswith("stage ")]
    assert stages[:2] == [("stage start", "ingest-csv"), ("stage ok", "ingest-csv")]
    assert ("stage skipped", "ingest-tmdb") in stages
    ok = next(r for r in records if r["event"] == "stage ok")
    assert isinstance(ok["fields"]["seconds"], float) and ok["fields"]["index"] == 1 and ok["fields"]["total"] == 6
    assert any(r["event"] == "progress" and r["fields"]["doing"] for r in records)  # the 30-second lines
    assert {"time", "level", "run_id", "stage"} <= set(records[0])


def test_json_logs_carry_the_error_that_ended_the_command(invoke, tmp_path: Path) -> None:
    result = invoke("--log-format", "json", "validate", "--lake", tmp_path / "no-such-lake")
    assert result.exit_code == 2
    (record,) = _json_lines(result.stderr)
    assert record["level"] == "error" and record["fields"]["exit_code"] == 2
    assert "no-such-lake" in record["fields"]["error"]


def test_json_logs_with_text_output_keep_stderr_json(invoke, sample_lake: Path) -> None:
    """athena-ddl prints DDL on stdout and its summary on stderr: as one JSON object there."""
    result = invoke("--log-format", "json", "athena-ddl", "--lake", sample_lake, "--dialect", "duckdb")
    assert result.exit_code == 0, result.output
    (summary,) = [r for r in _json_lines(result.stderr) if r["event"] == "summary"]
    assert summary["fields"]["command"] == "athena-ddl" and summary["fields"]["ok"] is True
    assert "CREATE" in result.stdout


def test_run_on_a_terminal_shows_what_each_stage_is_doing(tmp_path: Path, movies_csv: Path,
                                                          series_csv: Path) -> None:
    """In a real pseudo-terminal: the live line names the stage and what it does, not only
    ``3 of 6 START refine`` for the length of the stage."""
    import os
    import pty
    import subprocess
    import sys

    main, child = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moviedl", "run", str(movies_csv), str(series_csv), "--lake", str(tmp_path / "lake"),
         "--date", SAMPLE_DATE], stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=120) == 0, seen.decode(errors="replace")
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    assert "moviedl run: refine" in shown  # the stage's own activity, live
    assert "3 of 6 OK refine [" in shown
    assert "┃" in shown  # tables are boxed on a terminal
