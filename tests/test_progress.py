"""Progress: a long step is never silent — live status on a terminal, a line every N seconds in a
log, and dbt-style stage lines from ``run``."""

from __future__ import annotations

import threading
from pathlib import Path

from moviedl.core import progress
from tests.conftest import SAMPLE_DATE


def test_the_ticker_shows_what_the_work_says_it_is_doing() -> None:
    lines: list[str] = []
    seen = threading.Event()

    def show(line: str) -> None:
        lines.append(line)
        if "auditing dim_filmes" in line:
            seen.set()

    with progress.stage("refine"), progress.Ticker(show, every=0.01):
        progress.activity("auditing dim_filmes")
        assert seen.wait(5), lines
    assert any(line.startswith("refine: auditing dim_filmes (") and "elapsed)" in line for line in lines)
    assert progress.current() == ""  # the stage ended


def test_off_a_terminal_a_command_prints_what_it_is_doing_while_it_runs(
    invoke, sample_lake: Path, monkeypatch
) -> None:
    monkeypatch.setenv("MOVIEDL_PROGRESS_SECONDS", "0.01")
    result = invoke("refine", "--lake", sample_lake, "--date", SAMPLE_DATE)
    assert result.exit_code == 0, result.output
    progress_lines = [line for line in result.stderr.splitlines() if line.startswith("moviedl refine: ")]
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
    stage_lines = [line for line in result.stderr.splitlines() if " of 5 " in line]
    assert stage_lines[0] == "1 of 5 START ingest-csv"
    assert stage_lines[1].startswith("1 of 5 OK ingest-csv in ") and stage_lines[1].endswith("s")
    assert "2 of 5 SKIP ingest-tmdb" in stage_lines
    assert [line.split()[4] for line in stage_lines if " START " in line] == ["ingest-csv", "refine", "validate"]
    assert stage_lines[-1] == "5 of 5 SKIP athena-ddl"


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
