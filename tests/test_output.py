"""Text output at 80 columns: no number, id or word split across lines; validate's compact view;
errors one line each off a terminal; JSON untouched."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from moviedl import api
from moviedl.core.errors import ExitCode
from moviedl.core.summary import Check, Status, Summary
from moviedl.output import _DROP, OutputFormat, render
from tests.conftest import SAMPLE_DATE, SAMPLES

WIDTH = 80
LONG_TARGET = "Raw/Local/CSV/Movies/2024/05/01/movies.csv"


def console(width: int = WIDTH) -> Console:
    return Console(width=width, record=True, file=io.StringIO())


def text_of(summary: Summary, verbose: int = 0, width: int = WIDTH) -> str:
    out, err = console(width), console(width)
    render(summary, OutputFormat.text, verbose=verbose, out=out, err=err)
    return out.export_text()


def assert_fits(text: str, words: list[str], width: int = WIDTH) -> None:
    lines = text.splitlines()
    too_long = [line for line in lines if len(line) > width]
    assert not too_long, too_long
    split = [w for w in words if not any(w in line for line in lines)]
    assert not split, f"split across lines or missing: {split}\n{text}"


def cell(value: object) -> str:
    if isinstance(value, dict):  # a setting's table
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list):  # runs' stages, shown as stage:exit_code
        return ", ".join(f"{v['stage']}:{v['exit_code']}" for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)


def words_of(summary: Summary, verbose: int = 0) -> list[str]:
    """Every word the tables show: cells of the rows (but dropped columns; validate shows its
    datasets with -v), and the checks' texts (passing ones with -v, without ``expected``). A word
    wider than the line (a long temporary path) cannot stay whole and is left out."""
    shown = [c for c in summary.columns if c not in _DROP.get(summary.command, ())]
    if summary.command == "validate" and not verbose:
        shown = []
    found = [w for row in summary.rows for c in shown
             for w in cell(row.get(c)[:12] if c == "sha256" else row.get(c)).split()]
    for check in summary.checks:
        if check.status is not Status.PASS:
            found += f"{check.name} {check.target} {check.observed} {check.expected}".split()
        elif verbose and summary.command == "validate":
            found += f"{check.name} {check.target} {check.observed}".split()
    return [w for w in found if len(w) <= WIDTH - 2]


def ids(text: str) -> set[str]:
    return set(re.findall(r"\btt\d+\b|\b\d{1,3}(?:,\d{3})+\b|\b[0-9a-f]{12}\b", text))


@pytest.fixture
def settings(sample_lake: Path):
    return api.settings(lake=sample_lake, date=SAMPLE_DATE)


def test_every_command_fits_80_columns(sample_lake: Path, tmp_path: Path, settings) -> None:
    from moviedl.stages.catalog.athena_ddl import DdlOptions
    from moviedl.stages.report.report import ReportOptions

    fresh = api.settings(lake=tmp_path / "fresh", date=SAMPLE_DATE)
    summaries = [
        api.ingest_csv(fresh, [Path(str(SAMPLES / "movies.csv")), Path(str(SAMPLES / "series.csv"))]),
        api.refine(settings),
        api.validate(settings),
        api.athena_ddl(settings, DdlOptions(location="s3://a-rather-long-bucket-name/some/prefix/lake")),
        api.athena_ddl(settings, DdlOptions(policy=True, location="s3://bucket/lake")),
        api.report(settings, ReportOptions(output=tmp_path / "report.html")),
        api.run(api.settings(lake=tmp_path / "ran", date=SAMPLE_DATE),
                [Path(str(SAMPLES / "movies.csv")), Path(str(SAMPLES / "series.csv"))]),
        api.runs(settings),
        api.config_show(settings),
    ]
    for summary in summaries:
        text = text_of(summary)
        assert_fits(text, words_of(summary))
        if summary.command == "ingest-csv":
            assert ids(text) >= {row["sha256"][:12] for row in summary.rows}
        for verbose in (0, 1):
            wide = text_of(summary, verbose, width=160)
            assert all(len(line) <= 160 for line in wide.splitlines())


def test_long_numbers_and_ids_stay_whole() -> None:
    summary = Summary("refine", "/lake", None, ["table", "rows_in", "rows_out", "duplicates", "quarantined",
                                                  "files", "bytes", "status"])
    for n in range(3):
        summary.rows.append({"table": f"trusted_movies dt=2024-05-0{n + 1}", "rows_in": 12_345_678,
                             "rows_out": 12_345_001, "duplicates": 677, "quarantined": 0, "files": 14,
                             "bytes": 1_234_567_890, "status": "published"})
    summary.checks.append(Check("imdb id format", "trusted_movies dt=2024-05-01",
                                "3 ids like tt00123456789 and tt98765432101 do not match", Status.FAIL,
                                "tt[0-9]{7,}"))
    text = text_of(summary)
    assert_fits(text, words_of(summary))
    assert {"12,345,678", "12,345,001", "1,234,567,890", "tt00123456789", "tt98765432101"} <= ids(text)


def test_ingest_tmdb_files_stay_whole() -> None:
    summary = Summary("ingest-tmdb", "s3://bucket/lake", SAMPLE_DATE, ["file", "media_type", "records", "bytes"])
    for n in range(1, 4):
        key = f"Raw/TMDB/JSON/Movies/2024/05/01/tmdb-movies-20240501T020304Z-0a1b2c-{n:05d}.json"
        summary.rows.append({"file": f"s3://bucket/lake/{key}", "media_type": "movie", "records": 100,
                             "bytes": 1_234_567})
    summary.counts = {"files": 3, "records": 300, "not_found": 12}
    text = text_of(summary)
    assert_fits(text, words_of(summary))
    assert text.count("1,234,567") == 3
    assert "files under s3://bucket/lake/" in text  # the keys are shown relative to the lake, whole
    for row in summary.rows:
        assert any(line.strip() == row["file"].removeprefix("s3://bucket/lake/") for line in text.splitlines())


def failing_validation(lake: Path) -> Summary:
    shutil.rmtree(lake / "Trusted" / "Local" / "Parquet" / "Movies" / f"dt={SAMPLE_DATE}", ignore_errors=True)
    for data in lake.glob(f"Trusted/**/dt={SAMPLE_DATE}/*.parquet"):
        if "movies" in str(data).lower() and "tmdb" not in str(data).lower():
            data.unlink()
    summary = api.validate(api.settings(lake=lake, date=SAMPLE_DATE))
    assert summary.exit_code == ExitCode.CHECK_FAILED
    return summary


def test_validate_compact_puts_failures_last(sample_lake: Path) -> None:
    summary = failing_validation(sample_lake)
    summary.checks.append(Check("manifest", LONG_TARGET, "no manifest", Status.WARN, "a manifest"))
    summary.rows.append({"zone": "raw", "dataset": LONG_TARGET, "files": 1, "rows": 287, "bytes": 49_260,
                         "checks": 1, "status": "warn"})
    text = text_of(summary)
    assert_fits(text, words_of(summary))
    assert len(text.splitlines()) < 60
    assert "columns carry data" not in text  # a passing check: only counted
    for zone in ("raw", "trusted", "refined"):
        assert re.search(rf"^[│ ]*{zone}\b", text, re.M), zone
    failed = [c for c in summary.checks if c.status is Status.FAIL]
    assert failed and text.rindex("no manifest") < min(text.rindex(c.name) for c in failed)
    assert all(text.index("passed") < text.rindex(c.name) for c in failed)  # after the zone counts
    tail = " ".join(text.split("checks that did not pass")[-1].split())
    # the verdict counts the checks once, as validate counts them (no second "checks passed n/m")
    assert re.search(r" status: fail FAILED \(exit 1\) datasets \d+ · checks \d+ · passed \d+ · warnings \d+ · failed \d+$",
                     tail), tail


def test_validate_verbose_lists_every_check(sample_lake: Path) -> None:
    summary = failing_validation(sample_lake)
    text = text_of(summary, verbose=1)
    assert_fits(text, words_of(summary, verbose=1))
    for check in summary.checks:  # assert_fits found every word of each one's target and observed
        assert check.name in text, check
    assert text.index("raw checks") < text.index("trusted checks") < text.index("refined checks")
    assert text.index("refined checks") < text.index("checks that did not pass")  # failures still last


def test_errors_are_one_line_off_a_terminal() -> None:
    problem = "trusted_movies dt=2024-05-01: not empty: " + " ".join(f"tt{n:07d}" for n in range(40))
    assert len(problem) > 350
    summary = Summary("validate", "/lake", problems=[problem], exit_code=ExitCode.CHECK_FAILED)
    out, err = console(), console()
    assert not err.is_terminal
    render(summary, OutputFormat.text, out=out, err=err)
    assert re.fullmatch(rf"\d\d:\d\d:\d\d Error: {re.escape(problem)}\n", err.export_text())  # timestamped


def test_old_call_and_json_unchanged(capsys: pytest.CaptureFixture[str], settings) -> None:
    summary = api.validate(settings)
    render(summary, OutputFormat.json)  # the CLI's call: render(summary, format, quiet)
    render(summary, OutputFormat.json, False, 2)
    first, second = capsys.readouterr().out.splitlines()
    assert first == second == json.dumps(summary.to_dict(), ensure_ascii=False, default=str)
