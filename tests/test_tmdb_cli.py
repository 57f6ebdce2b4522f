"""``moviedl ingest-tmdb`` as users and cron run it: exit codes, JSON summary, secrets, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.fake_tmdb import API_KEY, TOKEN, FakeTmdb

SUMMARY_COUNTS = {
    "ids_considered", "already_present", "skipped_not_found", "fetched", "not_found", "failed",
    "left_for_later", "requests", "retries", "http_429", "requests_per_second", "files_written",
    "refetched_missing_file", "changes_listed", "changes_in_lake", "changes_stale", "changes_already_stored",
    "changes_fetched", "changes_not_found", "changes_failed", "changes_requests", "changes_seconds",
}


@pytest.fixture
def lake(tmp_path: Path, invoke, movies_csv: Path, series_csv: Path, monkeypatch: pytest.MonkeyPatch,
         fake_tmdb: FakeTmdb) -> Path:
    """A lake with the samples as Raw CSVs; MOVIEDL_LAKE and the TMDB URL point at lake and fake."""
    lake = tmp_path / "lake"
    monkeypatch.setenv("MOVIEDL_LAKE", str(lake))
    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", fake_tmdb.url)
    Path("moviedl.toml").write_text("[tmdb]\nrequests_per_second = 1000\nmax_attempts = 2\n")
    result = invoke("ingest-csv", movies_csv, series_csv, "--date", "2024-05-01", "-q")
    assert result.exit_code == 0, result.output
    return lake


def raw_ids(lake: Path) -> Counter[str]:
    return Counter(r["imdb_id"] for p in (lake / "Raw" / "TMDB" / "JSON").rglob("*.json")
                   for r in json.loads(p.read_bytes()))


def every_lake_byte(lake: Path) -> bytes:
    return b"".join(p.read_bytes() for p in lake.rglob("*") if p.is_file())


def test_no_credentials_exits_2_and_says_where_to_get_them(invoke, lake: Path, fake_tmdb: FakeTmdb) -> None:
    result = invoke("ingest-tmdb")

    assert result.exit_code == 2, result.output
    assert "Error: no TMDB credentials" in result.output
    assert "https://www.themoviedb.org/settings/api" in result.output
    assert fake_tmdb.requests == [] and not (lake / "Raw" / "TMDB").exists()


def test_json_summary_has_every_count(invoke, lake: Path, fake_tmdb: FakeTmdb, monkeypatch) -> None:
    monkeypatch.setenv("TMDB_READ_ACCESS_TOKEN", TOKEN)
    fake_tmdb.missing_ids.add("tt0012349")
    result = invoke("ingest-tmdb", "--format", "json", "--kind", "movies")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["command"] == "ingest-tmdb" and summary["ok"] is True and summary["date"] == "2024-05-01"
    assert set(summary["counts"]) == SUMMARY_COUNTS
    counts = summary["counts"]
    assert counts["fetched"] + counts["not_found"] == counts["ids_considered"]
    assert counts["fetched"] == len(raw_ids(lake)) and counts["not_found"] == 1
    assert counts["requests"] == len(fake_tmdb.requests) > 0
    assert counts["files_written"] == len(summary["rows"]) == 1
    assert {c["name"] for c in summary["checks"]} == {"TMDB lookups", "each id once per date"}
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake_tmdb.requests)


def test_text_summary_names_what_happened(invoke, lake: Path, fake_tmdb: FakeTmdb, monkeypatch) -> None:
    monkeypatch.setenv("TMDB_API_KEY", API_KEY)
    invoke("ingest-tmdb", "--limit", "5")
    result = invoke("ingest-tmdb", "--limit", "5")

    assert result.exit_code == 0, result.output
    assert "already present 5" in result.output and "fetched 5" in result.output
    assert "OK" in result.output


def test_a_refused_key_exits_3_at_once_without_showing_it(invoke, lake: Path, fake_tmdb: FakeTmdb, monkeypatch) -> None:
    monkeypatch.setenv("TMDB_API_KEY", "not-the-right-key-7d1e")
    result = invoke("ingest-tmdb", "--concurrency", "1")

    assert result.exit_code == 3, result.output
    assert "Error: TMDB refused the credentials (HTTP 401" in result.output
    assert "not-the-right-key-7d1e" not in result.output
    assert len(fake_tmdb.requests) == 1


def test_failed_ids_exit_3_after_saving_the_rest_and_no_secret_leaks(
    invoke, lake: Path, fake_tmdb: FakeTmdb, monkeypatch
) -> None:
    monkeypatch.setenv("TMDB_API_KEY", API_KEY)
    fake_tmdb.fail("/find/tt0012349", "reset", times=10)  # the client's error text holds the URL
    fake_tmdb.fail("/movie/15648", 503, times=10)
    for format in ("text", "json"):
        result = invoke("ingest-tmdb", "--format", format)

        assert result.exit_code == 3, result.output
        assert "tt0012349: GET /find/tt0012349: connection failed" in result.output
        assert "tt0015648: GET /movie/15648: HTTP 503" in result.output
        assert API_KEY not in result.output
    assert json.loads(result.stdout)["counts"]["failed"] == 2
    stored = raw_ids(lake)
    assert "tt0012349" not in stored and len(stored) > 90 and max(stored.values()) == 1
    assert API_KEY.encode() not in every_lake_byte(lake)  # Raw files, ledger, manifests


def test_usage_errors_exit_2(invoke, lake: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TMDB_API_KEY", API_KEY)
    assert invoke("ingest-tmdb", "--kind", "films").exit_code == 2
    assert invoke("ingest-tmdb", "--year-from", "2000", "--year-to", "1990").exit_code == 2
    assert invoke("ingest-tmdb", "--ids-file", tmp_path / "missing.txt").exit_code == 2
    result = invoke("ingest-tmdb", "--date", "2020-01-01")
    assert result.exit_code == 2 and "no Raw CSV" in result.output


# --- kill -9 in the middle of a run, then run again ------------------------------------------


def test_a_run_killed_mid_way_resumes_without_duplicates_or_refetching(
    invoke, lake: Path, fake_tmdb: FakeTmdb, monkeypatch
) -> None:
    monkeypatch.setenv("TMDB_API_KEY", API_KEY)
    Path("moviedl.toml").write_text("[tmdb]\nrequests_per_second = 1000\nrecords_per_file = 4\nconcurrency = 2\n")
    fake_tmdb.latency = 0.03  # slow enough to kill it while it writes files
    every = {r.split("|", 1)[0] for r in _sample_ids()}
    process = subprocess.Popen([sys.executable, "-m", "moviedl", "ingest-tmdb", "-q"], env=dict(os.environ),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    raw = lake / "Raw" / "TMDB" / "JSON"
    deadline = time.monotonic() + 30
    while len(list(raw.rglob("*.json"))) < 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run should still have been going"

    kept = raw_ids(lake)
    assert len(kept) >= 16 and max(kept.values()) == 1
    fake_tmdb.latency = 0
    fake_tmdb.clear()
    result = invoke("ingest-tmdb", "--format", "json")

    assert result.exit_code == 0, result.output
    assert set(fake_tmdb.found_ids()).isdisjoint(kept)  # nothing stored was fetched again
    final = raw_ids(lake)
    assert set(final) == every and max(final.values()) == 1  # everything, each id once
    fake_tmdb.clear()
    counts = json.loads(invoke("ingest-tmdb", "--format", "json").stdout)["counts"]
    assert counts["requests"] == counts["changes_requests"] == 2  # one page of each change list
    assert sorted(fake_tmdb.paths()) == ["/movie/changes", "/tv/changes"]


def _sample_ids() -> list[str]:
    from importlib import resources

    rows = []
    for name in ("movies.csv", "series.csv"):
        rows += (resources.files("moviedl") / "samples" / name).read_text("utf-8").splitlines()[1:]
    return rows
