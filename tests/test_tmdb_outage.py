"""TMDB down during ``ingest-tmdb``: the circuit breaker stops the run quickly (exit 3) and keeps
what was fetched. TMDB is the local fake server, a silent TCP server or a closed port; the
outage window (``tmdb.outage_seconds``) is shortened through moviedl.toml so each test takes
seconds, while the default retry backoff stays (the breaker must wake workers sleeping in it)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import list_lake, read_lake_object

from moviedl.core.config import Secret, load_settings
from moviedl.core.errors import ExitCode
from moviedl.stages.tmdb.client import (
    Backoff,
    CircuitBreaker,
    RateLimiter,
    TmdbClient,
    TmdbOutage,
)
from moviedl.stages.tmdb.ingest import TmdbOptions, TmdbProgress, ingest_tmdb
from moviedl.storage import open_lake
from tests.fake_tmdb import API_KEY, FakeTmdb, SilentServer, closed_port

EVERYTHING = 10**6  # a fault that never runs out


def sample_ids() -> set[str]:
    from importlib import resources

    ids = set()
    for name in ("movies.csv", "series.csv"):
        lines = (resources.files("moviedl") / "samples" / name).read_text("utf-8").splitlines()[1:]
        ids |= {line.split("|", 1)[0] for line in lines}
    return ids


def config(outage: float = 1.0, timeout: float = 0.5, **extra: object) -> None:
    """moviedl.toml in the working folder: fast rate limit, short outage window and timeout."""
    lines = ["[tmdb]", "requests_per_second = 1000", f"outage_seconds = {outage}", f"timeout_seconds = {timeout}"]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    Path("moviedl.toml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def lake(tmp_path: Path, invoke, movies_csv: Path, series_csv: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lake = tmp_path / "lake"
    monkeypatch.setenv("MOVIEDL_LAKE", str(lake))
    monkeypatch.setenv("TMDB_API_KEY", API_KEY)
    result = invoke("ingest-csv", movies_csv, series_csv, "--date", "2024-05-01", "-q")
    assert result.exit_code == 0, result.output
    return lake


def timed(invoke, *args: object):
    started = time.monotonic()
    result = invoke(*args)
    return result, time.monotonic() - started


def assert_outage_message(output: str, base_url: str, seen: str) -> None:
    output = " ".join(output.split())  # the terminal wraps long lines
    assert f"TMDB at {base_url} is not answering: {seen} on " in output
    assert "no success" in output and "tmdb.outage_seconds = 1" in output
    assert "ingest-tmdb stopped. Saved: 0 record(s) fetched before the outage" in output
    assert "run 'moviedl ingest-tmdb' again" in output
    assert "Traceback" not in output


# --- the breaker opens: TMDB answers 503, never answers, or refuses connections ---------------


def test_a_503_storm_stops_the_run_within_seconds(invoke, lake: Path, fake_tmdb: FakeTmdb, monkeypatch) -> None:
    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", fake_tmdb.url)
    fake_tmdb.fail("*", 503, times=EVERYTHING)
    config(outage=1)
    result, seconds = timed(invoke, "ingest-tmdb")

    assert result.exit_code == 3, result.output
    assert "Error: TMDB at" in result.output
    assert_outage_message(result.output, fake_tmdb.url, "HTTP 503")
    # Without the breaker: ~400 ids x 6 attempts with backoff up to 30 s each (minutes).
    assert seconds < 30, seconds  # minutes without the breaker; generous for a loaded CI machine
    assert len(fake_tmdb.requests) < 300
    requests_after = len(fake_tmdb.requests)
    time.sleep(0.3)
    assert len(fake_tmdb.requests) == requests_after  # no worker is still asking


def test_a_tmdb_that_never_answers_stops_the_run(invoke, lake: Path, monkeypatch) -> None:
    config(outage=1, timeout=0.3)
    with SilentServer() as silent:
        url = f"{silent.url}/3"
        monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", url)
        result, seconds = timed(invoke, "ingest-tmdb")
        assert silent.accepted > 0

    assert result.exit_code == 3, result.output
    assert_outage_message(result.output, url, "no answer within 0.3 s")
    assert seconds < 30, seconds  # minutes without the breaker; generous for a loaded CI machine


def test_a_refused_connection_stops_the_run(invoke, lake: Path, monkeypatch) -> None:
    config(outage=1)
    url = f"http://127.0.0.1:{closed_port()}/3"
    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", url)
    result, seconds = timed(invoke, "ingest-tmdb", "--format", "json")

    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["exit_code"] == 3
    assert_outage_message(summary["problems"][0], url, "connection refused")
    assert seconds < 30, seconds  # minutes without the breaker; generous for a loaded CI machine


def test_the_outage_ends_moviedl_run_with_exit_3(invoke, lake: Path, fake_tmdb: FakeTmdb, monkeypatch) -> None:
    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", fake_tmdb.url)
    fake_tmdb.fail("*", 503, times=EVERYTHING)
    config(outage=1)
    result, seconds = timed(invoke, "run")

    assert result.exit_code == 3, result.output
    assert "is not answering: HTTP 503" in " ".join(result.output.split()) and seconds < 30


# --- the breaker stays closed -----------------------------------------------------------------


def test_a_flaky_tmdb_does_not_open_the_breaker(lake: Path, fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.fail("*", 503, times=EVERYTHING, every=3)  # one request in three fails
    fake_tmdb.latency = 0.05
    started = time.monotonic()
    # The window is short, so the run spans several of them, yet long enough that a busy test
    # machine pausing this process between a failure and the next success cannot open it
    # (0.2 s did, once, in a CI-sized run: a stall, not an outage).
    outage = 0.5
    summary = run(str(lake), fake_tmdb, backoff=Backoff(initial=0.01, maximum=0.05),
                  **{"tmdb.outage_seconds": outage, "tmdb.max_attempts": 10})
    seconds = time.monotonic() - started

    assert summary.exit_code == ExitCode.OK, summary.problems
    assert summary.counts["failed"] == 0 and summary.counts["fetched"] == len(sample_ids())
    failed = sum(1 for r in fake_tmdb.requests if r.status == 503)
    assert failed > 60 and seconds > outage * 4, (failed, seconds)  # many 503s, over many outage windows


def test_rate_limiting_with_retry_after_is_not_an_outage(fake_tmdb: FakeTmdb) -> None:
    """A 429 with Retry-After is TMDB's rate limit working: waiting for it never opens the breaker."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    breaker = CircuitBreaker(1.0, clock=lambda: now[0])
    client = TmdbClient(fake_tmdb.url, api_key=Secret(API_KEY), max_attempts=6, sleep=sleep, breaker=breaker,
                        backoff=Backoff(initial=0.001, maximum=0.01),
                        limiter=RateLimiter(1000.0, clock=lambda: now[0], sleep=sleep))
    fake_tmdb.fail("/find/*", 429, retry_after=2, times=4)
    found = client.lookup("tt0012349")

    assert found.found and now[0] >= 8  # waited 4 x 2 s, far past the 1 s outage window
    assert not breaker.is_open


def test_one_success_resets_the_breaker() -> None:
    now = [0.0]
    breaker = CircuitBreaker(10.0, clock=lambda: now[0])
    for _ in range(9):  # failing for 9 s
        breaker.failure("HTTP 503", started=now[0])
        now[0] += 1
    breaker.success()
    for _ in range(9):  # another 9 s: never 10 s in a row without a success
        assert breaker.failure("HTTP 503", started=now[0]) is False
        now[0] += 1
    assert not breaker.is_open
    now[0] += 1
    assert breaker.failure("HTTP 502", started=now[0] - 0.5) is True
    assert breaker.is_open
    assert breaker.seen == "HTTP 503 on 9 requests, HTTP 502 on 1 request in 10 s, no success"


def test_a_request_that_hangs_counts_from_when_it_was_sent() -> None:
    now = [100.0]
    breaker = CircuitBreaker(30.0, clock=lambda: now[0])
    now[0] = 130.0  # sent at 100, timed out at 130: TMDB has not answered for 30 s
    assert breaker.failure("no answer within 30 s", started=100.0) is True


# --- what the outage leaves behind ------------------------------------------------------------


def stored(uri: str, s3=None) -> Counter[str]:
    ids: Counter[str] = Counter()
    for key in list_lake(uri, s3, "Raw/TMDB/JSON/"):
        data = read_lake_object(uri, key, s3)
        assert data is not None
        ids.update(record["imdb_id"] for record in json.loads(data))
    return ids


def run(uri: str, fake: FakeTmdb, on_progress=None, backoff: Backoff | None = None, **overrides: object) -> Any:
    """ingest-tmdb as a library call: 4 workers, 0.5 s timeout, 0.5 s outage window."""
    flags = {"lake": uri, "date": "2024-05-01", "tmdb.concurrency": 4, "tmdb.requests_per_second": 1000,
             "tmdb.timeout_seconds": 0.5, "tmdb.outage_seconds": 0.5, **overrides}
    settings = load_settings(flags, env={"TMDB_API_KEY": API_KEY, "MOVIEDL_TMDB_BASE_URL": fake.url})
    client = TmdbClient.from_settings(settings, backoff=backoff) if backoff else None
    return ingest_tmdb(settings, open_lake(settings), TmdbOptions(), client=client, on_progress=on_progress)


def test_ids_fetched_before_the_outage_are_kept_and_the_next_run_fetches_the_rest(
    lake_uri: str, s3, invoke, movies_csv: Path, series_csv: Path, fake_tmdb: FakeTmdb
) -> None:
    result = invoke("ingest-csv", movies_csv, series_csv, "--lake", lake_uri, "--date", "2024-05-01", "-q")
    assert result.exit_code == 0, result.output

    def outage_after_30(progress: TmdbProgress) -> None:
        if progress.done >= 30 and not fake_tmdb.faults:
            fake_tmdb.fail("*", 503, times=EVERYTHING)  # TMDB goes down mid-run

    with pytest.raises(TmdbOutage) as caught:
        run(lake_uri, fake_tmdb, on_progress=outage_after_30)
    assert caught.value.exit_code == ExitCode.SERVICE
    kept = stored(lake_uri, s3)
    assert len(kept) >= 30 and max(kept.values()) == 1
    assert f"Saved: {len(kept)} record(s) fetched before the outage" in caught.value.message
    assert f"the next run fetches only the {len(sample_ids()) - len(kept)} id(s) still missing" in caught.value.message

    fake_tmdb.clear()  # TMDB is back
    summary = run(lake_uri, fake_tmdb)

    assert summary.exit_code == ExitCode.OK
    assert set(fake_tmdb.found_ids()) == sample_ids() - set(kept)  # only the rest
    final = stored(lake_uri, s3)
    assert set(final) == sample_ids() and max(final.values()) == 1
