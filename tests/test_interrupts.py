"""SIGTERM / SIGINT: exit 130, one line, no traceback, nothing half-published, a run record that
says so — also when the signal lands inside a DuckDB query, and whatever the work made of it."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviedl.core import interrupt
from tests.conftest import list_lake, read_lake_object

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATE = "2024-05-01"
BIG_DATE = "2024-05-02"
MOVIES_ROWS = 150_000  # refine runs for seconds: a signal lands while DuckDB works
SERIES_ROWS = 30_000


@pytest.fixture(autouse=True)
def no_interrupt() -> Iterator[None]:
    interrupt.reset()
    yield
    interrupt.reset()


def moviedl(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moviedl", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def published(lake: Path) -> dict[str, str]:
    """SHA-256 of every published Trusted and Refined file."""
    return {
        p.relative_to(lake).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for zone in ("Trusted", "Refined") if (lake / zone).is_dir()
        for p in sorted((lake / zone).rglob("*")) if p.is_file()
    }


def run_records(lake: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in (lake / "_moviedl/runs").glob("*.json")}


@pytest.fixture(scope="module")
def big_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake with the sample refined for one date, and big CSVs ingested (not refined) for the next."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate import generate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    base = tmp_path_factory.mktemp("interrupts")
    generate(base / "movies.csv", "movies", MOVIES_ROWS)
    generate(base / "series.csv", "series", SERIES_ROWS)
    lake = base / "lake"
    samples = ROOT / "moviedl" / "samples"
    steps = [
        ("ingest-csv", samples / "movies.csv", samples / "series.csv", "--date", SAMPLE_DATE),
        ("refine", "--date", SAMPLE_DATE),
        ("ingest-csv", base / "movies.csv", base / "series.csv", "--date", BIG_DATE),
    ]
    for step in steps:
        done = moviedl(*step, "--lake", lake, "--quiet")
        assert done.returncode == 0, done.stderr
    return lake


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interrupted_refine_exits_130_and_publishes_nothing(big_lake: Path, signum: int) -> None:
    before, records_before = published(big_lake), run_records(big_lake)
    assert any(BIG_DATE not in key for key in before)  # the sample's date is published
    staging = big_lake / "_moviedl/staging"
    proc = subprocess.Popen([sys.executable, "-m", "moviedl", "refine", "--lake", str(big_lake)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (staging.is_dir() and any(staging.iterdir())) and proc.poll() is None:
            assert time.monotonic() < deadline, "refine never started staging"
            time.sleep(0.005)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)  # well inside the Trusted build: DuckDB is running a query
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Traceback" not in out
    assert "Interrupted: nothing half-written was published." in err
    assert published(big_lake) == before  # byte-identical: nothing of the big date, nothing replaced
    new = {name: r for name, r in run_records(big_lake).items() if name not in records_before}
    assert [(r["command"], r["exit_code"], r["error"]) for r in new.values()] == [("refine", 130, "interrupted")]
    assert not staging.is_dir() or not any(staging.iterdir())  # staged files removed
    assert json.loads((big_lake / "_moviedl/lock").read_text() or "null") is None  # lock released


def test_refine_after_an_interrupt_completes(big_lake: Path) -> None:
    done = moviedl("refine", "--lake", big_lake, "--quiet")
    assert done.returncode == 0, done.stderr
    assert any(f"dt={BIG_DATE}" in key for key in published(big_lake))


# --- in-process: whatever the work made of an interrupt, the interrupt wins -------------------


def _refine_record(lake: Path) -> dict:
    (record,) = [r for r in run_records(lake).values() if r["command"] == "refine"]
    return record


@pytest.fixture
def raw_lake(invoke, tmp_path: Path, movies_csv: Path, series_csv: Path) -> Path:
    lake = tmp_path / "lake"
    assert invoke("ingest-csv", movies_csv, series_csv, "--lake", lake, "--date", SAMPLE_DATE).exit_code == 0
    return lake


def test_interrupt_turned_into_a_failed_check_exits_130(invoke, raw_lake: Path, monkeypatch) -> None:
    from moviedl.core.summary import Check, Status, Summary

    def interrupted_refine(settings, lake, options=None):
        interrupt.note()  # the signal arrived while DuckDB ran the check's query
        summary = Summary("refine", lake.uri, SAMPLE_DATE)
        summary.checks.append(Check("readable", "trusted_movies", "Query interrupted", Status.FAIL))
        summary.fail(1)
        return summary

    monkeypatch.setattr("moviedl.stages.refine.refine.refine", interrupted_refine)
    result = invoke("refine", "--lake", raw_lake)
    assert result.exit_code == 130
    assert "Interrupted: nothing half-written was published." in result.stderr
    record = _refine_record(raw_lake)
    assert (record["exit_code"], record["error"]) == (130, "interrupted")
    assert [(s["stage"], s["exit_code"], s["interrupted"]) for s in record["stages"]] == [("refine", 130, True)]


def test_interrupt_turned_into_a_data_check_error_exits_130(invoke, raw_lake: Path, monkeypatch) -> None:
    from moviedl.core.errors import DataCheckError

    def interrupted_refine(settings, lake, options=None):
        interrupt.note()
        raise DataCheckError("the Trusted zone could not be read as the contract describes it: Query interrupted")

    monkeypatch.setattr("moviedl.stages.refine.refine.refine", interrupted_refine)
    result = invoke("refine", "--lake", raw_lake, "--format", "json")
    assert result.exit_code == 130
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == 130 and summary["ok"] is False
    assert summary["problems"] == ["interrupted: nothing half-written was published"]
    assert _refine_record(raw_lake)["exit_code"] == 130


def test_duckdb_interrupt_exception_is_an_interrupt(invoke, raw_lake: Path, monkeypatch) -> None:
    import duckdb

    def interrupted_refine(settings, lake, options=None):
        raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")

    monkeypatch.setattr("moviedl.stages.refine.refine.refine", interrupted_refine)
    result = invoke("refine", "--lake", raw_lake)
    assert result.exit_code == 130 and "Traceback" not in result.output
    assert "Interrupted:" in result.stderr
    assert _refine_record(raw_lake)["exit_code"] == 130


def test_interrupt_stops_the_pipeline_before_the_next_stage(invoke, tmp_path: Path, movies_csv: Path,
                                                            monkeypatch) -> None:
    import moviedl.stages.ingest_csv

    real = moviedl.stages.ingest_csv.ingest_csv
    refined: list[str] = []

    def ingest_then_interrupt(*args, **kwargs):
        summary = real(*args, **kwargs)
        interrupt.note()  # swallowed at the very end of the stage
        return summary

    monkeypatch.setattr("moviedl.stages.ingest_csv.ingest_csv", ingest_then_interrupt)
    monkeypatch.setattr("moviedl.stages.refine.refine.refine", lambda *a, **k: refined.append("ran"))
    lake = tmp_path / "lake"
    result = invoke("run", movies_csv, "--lake", lake, "--date", SAMPLE_DATE)
    assert result.exit_code == 130 and refined == []
    (record,) = run_records(lake).values()
    assert record["exit_code"] == 130
    assert [(s["stage"], s["exit_code"]) for s in record["stages"]] == [("ingest-csv", 130)]


def test_write_guard_publishes_nothing_after_an_interrupt(lake_uri: str, s3) -> None:
    import datetime as dt

    from moviedl.app.session import command_session
    from moviedl.core.config import load_settings
    from moviedl.storage import open_lake

    settings = load_settings({"lake": lake_uri, "date": SAMPLE_DATE})
    store = open_lake(settings)
    with pytest.raises(KeyboardInterrupt), command_session(settings, store, "refine") as session:
        store.write_bytes("Refined/A/data.parquet", b"first")
        interrupt.note()  # e.g. swallowed by DuckDB between two publish steps
        store.write_bytes("Refined/B/data.parquet", b"second")
    assert read_lake_object(lake_uri, "Refined/A/data.parquet", s3) == b"first"
    assert read_lake_object(lake_uri, "Refined/B/data.parquet", s3) is None
    keys = list_lake(lake_uri, s3, "_moviedl/runs/")
    assert keys == [session.record.key()]
    record = json.loads(read_lake_object(lake_uri, keys[0], s3) or b"{}")
    assert (record["exit_code"], record["error"]) == (130, "interrupted")
    assert dt.date.fromisoformat(record["date"]) == dt.date(2024, 5, 1)


def test_a_signal_sets_the_flag_and_raises_once() -> None:
    script = (
        "import os, signal, time\n"
        "from moviedl.core import interrupt\n"
        "interrupt.install()\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGTERM); time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    print('raised', interrupt.interrupted())\n"
        "os.kill(os.getpid(), signal.SIGINT); time.sleep(0.1)\n"  # a second signal: recorded, not raised
        "print('cleanup finished')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["raised True", "cleanup finished"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_the_command_line_loads_exits_130_with_the_message(signum: int) -> None:
    """The handler is in place before the command line is imported (seconds on a loaded
    machine): a signal that lands during that import ends like any other interrupt."""
    script = (
        "import os, sys\n"
        "class SignalOnImport:\n"  # the signal arrives exactly while moviedl.cli is being loaded
        "    def find_spec(self, name, path, target=None):\n"
        f"        if name == 'moviedl.cli': os.kill(os.getpid(), {int(signum)})\n"
        "sys.meta_path.insert(0, SignalOnImport())\n"
        "sys.argv = ['moviedl', '--version']\n"
        "from moviedl.__main__ import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert done.stderr.strip() == "Interrupted: nothing half-written was published."
    assert "moviedl" not in done.stdout  # the command never ran


def test_the_moviedl_command_starts_where_the_handler_is_installed_first() -> None:
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["moviedl"] == "moviedl.__main__:main"
