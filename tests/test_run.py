"""Cron-ready: ``moviedl run``, one run at a time per lake, structured logs, run records."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import list_lake, read_lake_object

DATE = ("--date", "2024-05-01")


def records(lake_uri: str, s3=None) -> list[dict]:
    keys = [k for k in list_lake(lake_uri, s3) if k.startswith("_moviedl/runs/")]
    return [json.loads(read_lake_object(lake_uri, k, s3)) for k in keys]


def test_run_does_every_stage_on_the_sample(invoke, lake_uri: str, s3, movies_csv: Path, series_csv: Path) -> None:
    result = invoke("run", movies_csv, series_csv, "--lake", lake_uri, *DATE, "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    stages = {row["stage"]: row["status"] for row in summary["rows"]}
    assert stages == {"ingest-csv": "ok", "ingest-tmdb": "skipped", "refine": "ok", "validate": "ok", "athena-ddl": "skipped",
                      "quicksight": "skipped"}
    assert any("no TMDB credentials" in note for note in summary["notes"])
    # refine and validate both check TMDB coverage: the run shows that verdict once.
    seen = [json.dumps(c, sort_keys=True) for c in summary["checks"]]
    assert len(seen) == len(set(seen))
    assert [c["name"] for c in summary["checks"]].count("tmdb coverage") == 1
    keys = list_lake(lake_uri, s3)
    assert "Raw/Local/CSV/Movies/2024/05/01/movies.csv" in keys
    assert any(k.startswith("Refined/DimFilmes/") and k.endswith(".parquet") for k in keys)
    (record,) = records(lake_uri, s3)
    assert record["command"] == "run" and record["exit_code"] == 0
    assert [s["stage"] for s in record["stages"]] == ["ingest-csv", "refine", "validate"]


def movies_csv_header_with_commas() -> str:
    from moviedl.core.sources import MOVIES

    return MOVIES.header.replace("|", ",")


def test_run_registers_the_tables_in_glue_when_configured(
    invoke, bucket: str, s3, tmp_path: Path, movies_csv: Path, series_csv: Path
) -> None:
    import boto3

    config = tmp_path / "moviedl.toml"
    config.write_text('[run]\ncatalog = "glue"\n[athena]\ndatabase = "nightly"\n')
    lake = f"s3://{bucket}/lake"
    result = invoke("run", movies_csv, series_csv, "--lake", lake, *DATE, "--config", config, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"][-2]["stage"] == "athena-ddl"
    glue = boto3.client("glue")
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName="nightly")["TableList"]}
    assert {"trusted_movies", "trusted_series", "dim_filmes", "fato_filme"} <= set(tables)
    assert tables["dim_filmes"]["StorageDescriptor"]["Location"] == f"{lake}/Refined/DimFilmes/"


def test_a_failing_stage_stops_the_run_with_its_code(invoke, tmp_path: Path, series_csv: Path) -> None:
    bad = tmp_path / "movies.csv"
    bad.write_text(movies_csv_header_with_commas() + "\n")
    lake = tmp_path / "lake"
    result = invoke("run", bad, series_csv, "--lake", lake, *DATE, "--format", "json")
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert [(r["stage"], r["status"]) for r in summary["rows"]] == [
        ("ingest-csv", "failed"), ("ingest-tmdb", "not run"), ("refine", "not run"), ("validate", "not run"), ("athena-ddl", "not run"),
        ("quicksight", "not run")
    ]
    assert not (lake / "Refined").exists()
    (record,) = records(str(lake))
    assert record["exit_code"] == 2 and record["stages"][0]["stage"] == "ingest-csv"
    assert "comma-delimited" in " ".join(record["stages"][0]["problems"])


def test_run_record_says_what_happened(invoke, tmp_path: Path, movies_csv: Path, monkeypatch) -> None:
    monkeypatch.setenv("TMDB_API_KEY", "k3y-that-must-not-leak")
    monkeypatch.setattr("sys.argv", ["moviedl", "ingest-csv", "--note=api_key=k3y-that-must-not-leak"])
    lake = tmp_path / "lake"
    result = invoke("ingest-csv", movies_csv, "--lake", lake, *DATE)
    assert result.exit_code == 0, result.output
    (record,) = records(str(lake))
    assert record["command"] == "ingest-csv" and record["exit_code"] == 0 and record["error"] is None
    assert record["versions"]["moviedl"] and record["versions"]["duckdb"] and record["versions"]["python"]
    assert record["started_at"] <= record["ended_at"] and record["duration_seconds"] >= 0
    (stage,) = record["stages"]
    (row,) = stage["rows"]
    assert row["sha256"] and row["destination"].endswith("Raw/Local/CSV/Movies/2024/05/01/movies.csv")
    assert stage["counts"]["written"] == 1 and stage["checks"]
    assert "k3y-that-must-not-leak" not in json.dumps(record)
    assert record["argv"] == ["ingest-csv", "--note=api_key=****"]  # what the process was called with, masked
    listed = invoke("runs", "--lake", lake, "--format", "json")
    assert json.loads(listed.stdout)["rows"][0]["run_id"] == record["run_id"]


def test_json_logs_one_object_per_line_without_secrets(
    invoke, tmp_path: Path, movies_csv: Path, series_csv: Path, monkeypatch, fake_tmdb
) -> None:
    from tests.fake_tmdb import API_KEY

    monkeypatch.setenv("TMDB_API_KEY", API_KEY)
    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", fake_tmdb.url)
    log_file = tmp_path / "moviedl.log"
    result = invoke("--log-format", "json", "--log-file", log_file, "-v", "run", movies_csv, series_csv,
                    "--lake", tmp_path / "lake", *DATE)
    assert result.exit_code == 0, result.output
    assert fake_tmdb.requests, "ingest-tmdb ran against the fake TMDB"
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    run_ids = {line["run_id"] for line in lines}
    assert len(run_ids) == 1 and run_ids != {"-"}
    assert all({"time", "level", "run_id", "stage", "event", "fields"} <= set(line) for line in lines)
    assert {"ingest-csv", "ingest-tmdb", "refine", "validate"} <= {line["stage"] for line in lines}
    assert API_KEY not in log_file.read_text() + result.output
    (record,) = records(str(tmp_path / "lake"))
    assert API_KEY not in json.dumps(record)


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from moviedl.storage.local import LocalLake
    from moviedl.storage.lock import LockOwner, lock_lake
    with lock_lake(LocalLake(sys.argv[1]), LockOwner.current("nightly-1", "run")):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def test_a_second_command_on_a_busy_lake_exits_2_naming_the_holder(tmp_path: Path, movies_csv: Path) -> None:
    lake = tmp_path / "lake"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lake)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "locked"
        second = subprocess.run(
            [sys.executable, "-m", "moviedl", "ingest-csv", str(movies_csv), "--lake", str(lake), *DATE],
            capture_output=True, text=True,
        )
        assert second.returncode == 2
        assert "is in use by run nightly-1 ('moviedl run'" in second.stderr
        assert f"pid {holder.pid}" in second.stderr
        assert not (lake / "Raw").exists()
    finally:
        holder.kill()
        holder.wait()
    again = subprocess.run(
        [sys.executable, "-m", "moviedl", "ingest-csv", str(movies_csv), "--lake", str(lake), *DATE],
        capture_output=True, text=True,
    )
    assert again.returncode == 0, again.stderr


def test_read_only_commands_do_not_wait_for_the_lock(invoke, sample_lake: Path, tmp_path: Path) -> None:
    from moviedl.storage.local import LocalLake
    from moviedl.storage.lock import LockOwner, lock_lake

    lake = sample_lake
    with lock_lake(LocalLake(lake), LockOwner.current("busy", "refine")):
        assert invoke("runs", "--lake", lake).exit_code == 0
        assert invoke("report", "--lake", lake, "-o", tmp_path / "r.html").exit_code == 0


@pytest.mark.parametrize("args", [("config", "show"), ("runs",)])
def test_commands_that_only_look_leave_no_run_record(invoke, tmp_path: Path, args) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    assert invoke(*args, "--lake", lake).exit_code == 0
    assert records(str(lake)) == []


def test_sigterm_releases_the_lock_and_stops_cleanly(tmp_path: Path, movies_csv: Path, fake_tmdb) -> None:
    import os
    import signal
    import time

    from tests.fake_tmdb import API_KEY

    lake = tmp_path / "lake"
    env = {**os.environ, "TMDB_API_KEY": API_KEY, "MOVIEDL_TMDB_BASE_URL": fake_tmdb.url}
    subprocess.run([sys.executable, "-m", "moviedl", "ingest-csv", str(movies_csv), "--lake", str(lake), *DATE],
                   check=True, capture_output=True)
    fake_tmdb.latency = 0.5  # slow enough to be terminated mid-run
    proc = subprocess.Popen([sys.executable, "-m", "moviedl", "ingest-tmdb", "--lake", str(lake), *DATE],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not fake_tmdb.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert json.loads((lake / "_moviedl/lock").read_text() or "null") is None  # released, not held


def test_staging_versions_and_tmdb_files_lead_back_to_the_run_record(
    invoke, tmp_path: Path, movies_csv: Path, series_csv: Path, monkeypatch, fake_tmdb
) -> None:
    from tests.fake_tmdb import API_KEY

    monkeypatch.setenv("TMDB_API_KEY", API_KEY)
    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", fake_tmdb.url)
    lake = tmp_path / "lake"
    assert invoke("run", movies_csv, series_csv, "--lake", lake, *DATE).exit_code == 0
    fewer = tmp_path / "movies.csv"
    fewer.write_text("".join(movies_csv.read_text("utf-8").splitlines(keepends=True)[:-4]), "utf-8")
    result = invoke("run", fewer, series_csv, "--lake", lake, "--date", "2024-05-02")
    assert result.exit_code == 0, result.output
    first, second = sorted(records(str(lake)), key=lambda r: r["run_id"])
    suffix = second["run_id"].rsplit("-", 1)[1]
    versions = [p.name for p in (lake / "_moviedl/versions").rglob("*.parquet")]
    assert versions and all(f"-{suffix}-" in name for name in versions)  # replaced by the second run
    tmdb_files = [p.name for p in (lake / "Raw/TMDB/JSON").rglob("*.json")]
    assert tmdb_files and all(first["run_id"] in name for name in tmdb_files)  # all fetched by the first run


def test_a_tmdb_failure_degrades_the_run_csv_data_is_still_refined(
    invoke, tmp_path: Path, movies_csv: Path, series_csv: Path, fake_tmdb, monkeypatch
) -> None:
    """TMDB refusing the key (or down) is exit 3 for ingest-tmdb, but the CSV data is still
    refined, validated and published; the run ends with exit 3 naming the degraded stage."""
    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", fake_tmdb.url)
    monkeypatch.setenv("TMDB_API_KEY", "not-the-key")
    lake = tmp_path / "lake"
    result = invoke("run", movies_csv, series_csv, "--lake", lake, *DATE, "--format", "json")
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    stages = {row["stage"]: row["status"] for row in summary["rows"]}
    assert stages == {"ingest-csv": "ok", "ingest-tmdb": "degraded", "refine": "ok", "validate": "ok",
                      "athena-ddl": "skipped", "quicksight": "skipped"}
    assert any(p.startswith("degraded: ingest-tmdb failed (exit 3)") for p in summary["problems"])
    assert (lake / "Refined/DimFilmes/data.parquet").is_file()
    (record,) = records(str(lake))
    assert record["exit_code"] == 3
    assert [(s["stage"], s["exit_code"]) for s in record["stages"]] == [
        ("ingest-csv", 0), ("ingest-tmdb", 3), ("refine", 0), ("validate", 0)]


def test_other_failures_still_stop_the_run(invoke, tmp_path: Path, movies_csv: Path) -> None:
    lake = tmp_path / "lake"
    bad = tmp_path / "movies.csv"
    bad.write_text(movies_csv.read_text().replace("|", ",", 20))
    result = invoke("run", bad, "--lake", lake, *DATE, "--format", "json")
    assert result.exit_code == 2
    stages = [row["status"] for row in json.loads(result.stdout)["rows"]]
    assert stages == ["failed", "not run", "not run", "not run", "not run", "not run"]


# --- run --dry-run and refine --dry-run: what would happen, nothing written ---------------------


def _snapshot(lake: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the lake with its bytes and modification time."""
    return {str(p.relative_to(lake)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(lake.rglob("*"))
            if p.is_file()}


def test_run_dry_run_on_a_new_lake_checks_the_files_and_creates_nothing(invoke, tmp_path: Path) -> None:
    from tests.conftest import SAMPLE_DATE, SAMPLES

    lake = tmp_path / "lake"
    result = invoke("run", SAMPLES / "movies.csv", SAMPLES / "series.csv", "--lake", lake, "--date", SAMPLE_DATE,
                    "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    actions = {row["stage"]: row["action"] for row in summary["rows"]}
    assert actions == {"ingest-csv": "would run", "ingest-tmdb": "skipped", "refine": "would run",
                       "validate": "would run", "athena-ddl": "skipped", "quicksight": "skipped"}
    assert summary["rows"][0]["counts"]["rows_read"] == 415  # the files were really checked
    assert not lake.exists()


def test_run_dry_run_leaves_an_existing_lake_as_it_was(invoke, sample_lake: Path, tmp_path: Path) -> None:
    from tests.conftest import SAMPLE_DATE

    before = _snapshot(sample_lake)
    result = invoke("run", "--lake", sample_lake, "--date", SAMPLE_DATE, "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    refine = next(row for row in json.loads(result.stdout)["rows"] if row["stage"] == "refine")
    assert refine["counts"] == {"tables": 7, "would_build": 0, "unchanged": 7}  # the sample is refined already
    assert _snapshot(sample_lake) == before  # not a byte, not a run record, not a lock
    bad = tmp_path / "movies.csv"
    bad.write_text("id,tituloPincipal,anoLancamento\n1,x,2000\n")
    failed = invoke("run", bad, "--lake", sample_lake, "--dry-run")
    assert failed.exit_code == 2  # as the real run would
    assert "would fail" in failed.stdout and "not run" in failed.stdout
    assert _snapshot(sample_lake) == before


def test_refine_dry_run_plans_what_refine_then_does(invoke, sample_lake: Path) -> None:
    from tests.conftest import SAMPLE_DATE

    before = _snapshot(sample_lake)
    planned = invoke("refine", "--lake", sample_lake, "--date", SAMPLE_DATE, "--force", "--dry-run", "--format", "json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    assert _snapshot(sample_lake) == before
    assert {row["action"] for row in plan["rows"]} == {"would build"} and plan["counts"]["would_build"] == 7
    done = json.loads(invoke("refine", "--lake", sample_lake, "--date", SAMPLE_DATE, "--force", "--format", "json").stdout)
    assert [row["table"] for row in plan["rows"]] == [row["table"] for row in done["rows"]]
