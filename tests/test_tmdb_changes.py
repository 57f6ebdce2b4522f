"""ingest-tmdb's changes feed: the lake's titles TMDB changed since the last sync are fetched again.

TMDB is the local fake server (tests/fake_tmdb.py) with change lists: ``fake.change(media, ids, on)``
records changes, ``changes_page_size`` and ``changes_empty_pages`` shape the pages, and a window
of more than ``changes_max_days`` days is refused with TMDB's error. What the lake holds is read
back with plain ``json``/``pathlib``/DuckDB, not moviedl's code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from moviedl.core.config import Secret, load_settings
from moviedl.core.errors import ExitCode
from moviedl.core.summary import Summary
from moviedl.stages.tmdb import changes as feed
from moviedl.stages.tmdb.client import Backoff, TmdbClient, TmdbGiveUp
from moviedl.stages.tmdb.ingest import TmdbOptions, ingest_tmdb
from moviedl.storage import open_lake
from tests.fake_tmdb import API_KEY, FakeTmdb

DATE, DATE2, DATE3 = "2024-05-01", "2024-05-02", "2024-05-03"
FAST = Backoff(initial=0.001, maximum=0.01)
TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def lake(tmp_path: Path, invoke, movies_csv: Path, series_csv: Path) -> str:
    """A local lake with the samples' Raw CSVs for DATE, DATE2 and DATE3."""
    uri = str(tmp_path / "lake")
    for date in (DATE, DATE2, DATE3):
        result = invoke("ingest-csv", movies_csv, series_csv, "--lake", uri, "--date", date, "-q")
        assert result.exit_code == 0, result.output
    return uri


def run(lake: str, fake: FakeTmdb, date: str, options: TmdbOptions | None = None, **settings: Any) -> Summary:
    flags = {"lake": lake, "date": date, "tmdb.concurrency": 4, "tmdb.max_attempts": 3,
             "tmdb.requests_per_second": 1000, "tmdb.timeout_seconds": 2, **settings}
    loaded = load_settings(flags, env={"TMDB_API_KEY": API_KEY, "MOVIEDL_TMDB_BASE_URL": fake.url})
    client = TmdbClient.from_settings(loaded, backoff=FAST)
    return ingest_tmdb(loaded, open_lake(loaded), options or TmdbOptions(), client=client)


def records(lake: str, date: str | None = None) -> list[dict[str, Any]]:
    """Every record of the Raw TMDB files (of one date folder), read with json."""
    found = []
    for path in sorted((Path(lake) / "Raw" / "TMDB" / "JSON").rglob("*.json")):
        if date is None or f"/{date.replace('-', '/')}/" in path.as_posix():
            found += json.loads(path.read_text("utf-8"))
    return found


def refetched(fake: FakeTmdb) -> Counter[str]:
    """Details requests (``/movie/N``, ``/tv/N``) by path: what the sync fetched again."""
    return Counter(p for p in fake.paths() if p.rsplit("/", 1)[1].isdigit())


def first_fetch(lake: str, fake: FakeTmdb, series: int = 3) -> dict[str, tuple[str, int]]:
    """Fetch every sample title for DATE (a few as TV series); imdb id -> (media, TMDB id)."""
    fake.tv_ids.update(_series_ids()[:series])
    summary = run(lake, fake, DATE)
    assert summary.exit_code == ExitCode.OK, summary.problems
    assert summary.counts["changes_requests"] == 0  # no TMDB data before: no change list read
    fake.clear()
    return {r["imdb_id"]: (r["media_type"], r["id"]) for r in records(lake)}


def _series_ids() -> list[str]:
    path = Path(__file__).resolve().parent.parent / "moviedl" / "samples" / "series.csv"
    return sorted({line.split("|", 1)[0] for line in path.read_text("utf-8").splitlines()[1:]})


def ledger_entries(lake: str, status: str) -> list[dict[str, Any]]:
    entries = []
    for path in (Path(lake) / "_moviedl" / "tmdb" / "ledger").rglob("*.jsonl"):
        entries += [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [e for e in entries if e["status"] == status]


# --- the feed, page by page -------------------------------------------------------------------


def test_listed_titles_of_the_lake_are_fetched_again_once_by_tmdb_id(lake: str, fake_tmdb: FakeTmdb) -> None:
    lake_ids = first_fetch(lake, fake_tmdb)
    movies = sorted(i for i, (m, _) in lake_ids.items() if m == "movie")[:8]
    series = sorted(i for i, (m, _) in lake_ids.items() if m == "tv")[:2]
    fake_tmdb.changes_page_size = 3
    fake_tmdb.changes_empty_pages = {2}  # TMDB sometimes answers a page with no results
    # 8 lake movies, 5 movies not in the lake, and movies[0] changed again: on another page
    fake_tmdb.change("movie", [*movies[:4], 990001, 990002, *movies[4:], 990003, 990004, 990005, movies[0]])
    fake_tmdb.change("tv", [*series, 880001])
    for imdb_id in movies + series:
        fake_tmdb.overrides[imdb_id] = {"vote_average": 9.1, "vote_count": 123456}

    summary = run(lake, fake_tmdb, DATE2)

    assert summary.exit_code == ExitCode.OK, summary.problems
    pages = sorted(int(r.query["page"]) for r in fake_tmdb.requests if r.path == "/movie/changes")
    assert pages == [1, 2, 3, 4, 5, 6]  # 14 entries, 3 a page, and the empty page 2: all read
    assert all(r.query["start_date"] == r.query["end_date"] == TODAY.isoformat()
               for r in fake_tmdb.requests if r.path.endswith("/changes"))
    # each listed lake title once, by TMDB id (no /find), at its own media type; nothing else
    assert refetched(fake_tmdb) == Counter({f"/{lake_ids[i][0]}/{lake_ids[i][1]}": 1 for i in movies + series})
    assert fake_tmdb.found_ids() == []
    counts = summary.counts
    assert (counts["changes_listed"], counts["changes_in_lake"], counts["changes_fetched"]) == (8 + 5 + 3, 10, 10)
    assert counts["changes_failed"] == counts["changes_stale"] == counts["fetched"] == 0
    assert counts["changes_requests"] == 6 + 2 + 10 == counts["requests"]  # TV: 3 ids, and the empty page
    assert counts["changes_seconds"] >= 0 and counts["files_written"] == 2  # one Movies, one Series file
    assert any(c.name == "TMDB changes" and c.status.value == "pass" for c in summary.checks)
    # Raw keeps the old records; the new ones are dated DATE2 with the new figures
    new = {r["imdb_id"]: r for r in records(lake, DATE2)}
    assert set(new) == set(movies + series) and {r["vote_average"] for r in new.values()} == {9.1}
    assert {r["imdb_id"] for r in records(lake, DATE)} == set(lake_ids)
    assert any(c.name == "each id once per date" and c.status.value == "pass" for c in summary.checks)

    fake_tmdb.clear()  # the next run, same day: the window starts where this one ended
    again = run(lake, fake_tmdb, DATE2)
    assert refetched(fake_tmdb) == Counter()  # already stored for DATE2
    assert again.counts["changes_already_stored"] == 10 and again.exit_code == ExitCode.OK


def test_429_and_5xx_in_the_middle_of_paging_are_retried(lake: str, fake_tmdb: FakeTmdb) -> None:
    lake_ids = first_fetch(lake, fake_tmdb, series=0)
    movies = sorted(lake_ids)[:12]
    fake_tmdb.changes_page_size = 2
    fake_tmdb.change("movie", movies)
    fake_tmdb.fail("/movie/changes", 429, retry_after=0, after=2)  # the third page asked for
    fake_tmdb.fail("/movie/changes", 503, times=2, after=3)  # then two 503s
    fake_tmdb.fail("/tv/changes", 502, after=0)  # the first TV page: a proxy's HTML 502

    summary = run(lake, fake_tmdb, DATE2)

    assert summary.exit_code == ExitCode.OK, summary.problems
    statuses = Counter(r.status for r in fake_tmdb.requests if r.path.endswith("/changes"))
    assert statuses == Counter({200: 6 + 1, 429: 1, 503: 2, 502: 1})
    assert refetched(fake_tmdb) == Counter({f"/movie/{lake_ids[i][1]}": 1 for i in movies})
    assert summary.counts["changes_fetched"] == 12 and summary.counts["http_429"] == 1
    assert summary.counts["retries"] == 4 and summary.counts["changes_requests"] == 11 + 12


def test_a_window_over_14_days_is_refused_by_tmdb_and_never_asked(lake: str, fake_tmdb: FakeTmdb) -> None:
    client = TmdbClient(fake_tmdb.url, api_key=Secret(API_KEY), backoff=FAST, requests_per_second=1000)
    with pytest.raises(TmdbGiveUp, match=r"HTTP 422: The input is not valid. \(TMDB status_code 47\)"):
        client.changes("movie", dt.date(2024, 5, 1), dt.date(2024, 5, 16))
    assert client.changes("movie", dt.date(2024, 5, 1), dt.date(2024, 5, 14)) == ([], 1)
    assert feed.windows(dt.date(2024, 5, 1), dt.date(2024, 5, 31)) == [  # each starts where the last ends
        (dt.date(2024, 5, 1), dt.date(2024, 5, 14)), (dt.date(2024, 5, 14), dt.date(2024, 5, 27)),
        (dt.date(2024, 5, 27), dt.date(2024, 5, 31))]
    assert feed.windows(dt.date(2024, 5, 1), dt.date(2024, 5, 1)) == [(dt.date(2024, 5, 1), dt.date(2024, 5, 1))]

    first_fetch(lake, fake_tmdb)
    fake_tmdb.changes_max_days = 3  # TMDB allows less than we thought: its error stops the sync
    moved = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feed, "now_utc", lambda: moved)
        refused = run(lake, fake_tmdb, DATE2)
    assert refused.exit_code == ExitCode.SERVICE
    assert any("change lists could not be read" in p and "status_code 47" in p for p in refused.problems)
    assert refetched(fake_tmdb) == Counter() and ledger_entries(lake, "synced") == []


def test_changes_over_more_than_14_days_are_read_in_14_day_windows(lake: str, fake_tmdb: FakeTmdb) -> None:
    lake_ids = first_fetch(lake, fake_tmdb, series=0)
    some = sorted(lake_ids)[:3]
    later = TODAY + dt.timedelta(days=20)
    fake_tmdb.change("movie", some[0], on=TODAY + dt.timedelta(days=2))
    fake_tmdb.change("movie", some[1], on=TODAY + dt.timedelta(days=17))
    fake_tmdb.change("movie", 990001, on=TODAY + dt.timedelta(days=19))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feed, "now_utc", lambda: dt.datetime.combine(later, dt.time(6), dt.UTC))
        summary = run(lake, fake_tmdb, DATE2, **{"tmdb.changes_days": 30})

    windows = sorted((r.query["start_date"], r.query["end_date"]) for r in fake_tmdb.requests if r.path == "/movie/changes")
    assert windows == [(TODAY.isoformat(), (TODAY + dt.timedelta(days=13)).isoformat()),
                       ((TODAY + dt.timedelta(days=13)).isoformat(), later.isoformat())]
    assert all(r.status == 200 for r in fake_tmdb.requests)
    assert refetched(fake_tmdb) == Counter({f"/movie/{lake_ids[i][1]}": 1 for i in some[:2]})
    assert summary.counts["changes_stale"] == 0 and summary.exit_code == ExitCode.OK


# --- gaps, resume, flags ----------------------------------------------------------------------


def test_a_gap_longer_than_tmdb_keeps_changes_refetches_what_is_older_and_says_so(
    lake: str, fake_tmdb: FakeTmdb
) -> None:
    lake_ids = first_fetch(lake, fake_tmdb)
    assert run(lake, fake_tmdb, DATE2).exit_code == ExitCode.OK  # a sync: ends today
    assert [e["window_end"] for e in ledger_entries(lake, "synced")] == [TODAY.isoformat()]
    fake_tmdb.clear()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feed, "now_utc", lambda: later)
        summary = run(lake, fake_tmdb, DATE3)

    assert summary.exit_code == ExitCode.OK, summary.problems
    assert refetched(fake_tmdb) == Counter({f"/{m}/{i}": 1 for m, i in lake_ids.values()})
    assert summary.counts["changes_stale"] == len(lake_ids) == summary.counts["changes_fetched"]
    start = later.date() - dt.timedelta(days=13)  # the last 14 days, both ends in: one request
    assert {r.query["start_date"] for r in fake_tmdb.requests if r.path.endswith("/changes")} == {start.isoformat()}
    assert any("no sync for more than tmdb.changes_days = 14 day(s)" in n and f"before {start}" in n
               for n in summary.notes)
    assert {r["imdb_id"] for r in records(lake, DATE3)} == set(lake_ids)


def test_an_interrupted_sync_resumes_its_window_without_refetching_what_it_stored(
    lake: str, fake_tmdb: FakeTmdb
) -> None:
    lake_ids = first_fetch(lake, fake_tmdb, series=0)
    movies = sorted(lake_ids)[:10]
    fake_tmdb.change("movie", movies)
    broken = [lake_ids[i][1] for i in movies[7:]]
    for tmdb_id in broken:  # TMDB keeps failing for three of them: the sync cannot end
        fake_tmdb.fail(f"/movie/{tmdb_id}", 503, times=3)

    stopped = run(lake, fake_tmdb, DATE2)

    assert stopped.exit_code == ExitCode.SERVICE and stopped.counts["changes_failed"] == 3
    assert stopped.counts["changes_fetched"] == 7
    assert any("is not complete (3 title(s) failed): the next run resumes it" in n for n in stopped.notes)
    began = ledger_entries(lake, "sync")
    assert len(began) == 1 and ledger_entries(lake, "synced") == []
    fake_tmdb.clear()
    fake_tmdb.change("movie", movies)  # the lists still name all ten (clear() keeps changes)

    resumed = run(lake, fake_tmdb, DATE3)  # another date: only "since the sync began" keeps them out

    assert resumed.exit_code == ExitCode.OK, resumed.problems
    assert refetched(fake_tmdb) == Counter({f"/movie/{i}": 1 for i in broken})
    assert resumed.counts["changes_already_stored"] == 7 and resumed.counts["changes_fetched"] == 3
    assert any(f"resumed the interrupted sync begun {began[0]['recorded_at']}" in n for n in resumed.notes)
    window = {(r.query["start_date"], r.query["end_date"]) for r in fake_tmdb.requests if r.path.endswith("/changes")}
    assert window == {(began[0]["window_start"], began[0]["window_end"])}
    synced = ledger_entries(lake, "synced")
    assert [(e["window_start"], e["recorded_at"]) for e in synced] == [(began[0]["window_start"], began[0]["recorded_at"])]
    latest = Counter(r["imdb_id"] for r in records(lake) if r["imdb_id"] in movies)
    assert latest == Counter(dict.fromkeys(movies, 2))  # the first fetch, and one refetch each


def test_refresh_keeps_its_meaning_and_no_changes_skips_the_feed(
    lake: str, fake_tmdb: FakeTmdb, invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake_ids = first_fetch(lake, fake_tmdb, series=0)
    fake_tmdb.change("movie", sorted(lake_ids)[:5])
    refreshed = run(lake, fake_tmdb, DATE2, TmdbOptions(refresh=True))
    assert refreshed.counts["fetched"] == len(lake_ids) and refreshed.counts["changes_already_stored"] == 5
    assert refreshed.counts["changes_fetched"] == 0
    assert max(Counter(r["imdb_id"] for r in records(lake, DATE2)).values()) == 1
    assert refreshed.exit_code == ExitCode.OK

    fake_tmdb.clear()
    monkeypatch.setenv("TMDB_API_KEY", API_KEY)
    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", fake_tmdb.url)
    result = invoke("ingest-tmdb", "--lake", lake, "--date", DATE3, "--no-changes", "--format", "json")
    assert result.exit_code == 0, result.output
    assert fake_tmdb.requests == [] and json.loads(result.stdout)["counts"]["changes_requests"] == 0


def test_refine_takes_the_latest_record_of_a_title_fetched_again(
    lake: str, fake_tmdb: FakeTmdb, invoke
) -> None:
    lake_ids = first_fetch(lake, fake_tmdb, series=0)
    changed = sorted(lake_ids)[0]
    fake_tmdb.change("movie", changed)
    fake_tmdb.overrides[changed] = {"vote_average": 9.4, "vote_count": 777}
    assert run(lake, fake_tmdb, DATE2).counts["changes_fetched"] == 1

    result = invoke("refine", "--lake", lake, "-q")
    assert result.exit_code in (0, 1), result.output  # 1: warnings (coverage) are not what is tested
    refined = Path(lake) / "Refined"
    facts = duckdb.sql(
        f"SELECT d.imdb_id, max(f.tmdb_vote_average), max(f.tmdb_vote_count) "
        f"FROM read_parquet('{refined}/FatoFilme/**/*.parquet') AS f "
        f"JOIN read_parquet('{refined}/DimFilmes/**/*.parquet') AS d USING (film_id) GROUP BY d.imdb_id").fetchall()
    by_id = {imdb_id: (avg, votes) for imdb_id, avg, votes in facts}
    assert by_id[changed] == (9.4, 777)
    other = sorted(lake_ids)[1]
    assert by_id[other][0] == 7.5  # the fake's usual figure: fetched once


def test_a_sync_stopped_by_an_outage_resumes_where_it_stopped(lake: str, fake_tmdb: FakeTmdb) -> None:
    from moviedl.stages.tmdb.client import TmdbOutage

    lake_ids = first_fetch(lake, fake_tmdb, series=0)
    movies = sorted(lake_ids)[:20]
    fake_tmdb.change("movie", movies)
    # the change list answers, five refetches too, then TMDB answers 503 to everything
    fake_tmdb.fail("/movie/*", 503, times=10**6, after=1 + 5)
    with pytest.raises(TmdbOutage) as caught:
        run(lake, fake_tmdb, DATE2, **{"tmdb.max_attempts": 1000, "tmdb.outage_seconds": 0.5,
                                       "tmdb.records_per_file": 2})
    assert "resumes the changes-feed sync" in caught.value.message
    kept = {r["imdb_id"] for r in records(lake, DATE2)}
    assert 1 <= len(kept) <= 5 and kept <= set(movies)
    fake_tmdb.clear()
    fake_tmdb.change("movie", movies)

    resumed = run(lake, fake_tmdb, DATE3)

    assert resumed.exit_code == ExitCode.OK, resumed.problems
    assert refetched(fake_tmdb) == Counter({f"/movie/{lake_ids[i][1]}": 1 for i in set(movies) - kept})
    assert resumed.counts["changes_already_stored"] == len(kept)
    again = Counter(r["imdb_id"] for r in records(lake) if r["imdb_id"] in movies)
    assert again == Counter(dict.fromkeys(movies, 2))  # the first fetch, and exactly one refetch
    assert len(ledger_entries(lake, "synced")) == 1


def test_an_s3_lake_syncs_and_resumes_like_a_local_one(
    bucket: str, s3, invoke, movies_csv: Path, series_csv: Path, fake_tmdb: FakeTmdb
) -> None:
    from conftest import list_lake, read_lake_object

    uri = f"s3://{bucket}/lake"
    for date in (DATE, DATE2, DATE3):
        assert invoke("ingest-csv", movies_csv, series_csv, "--lake", uri, "--date", date, "-q").exit_code == 0
    assert run(uri, fake_tmdb, DATE, TmdbOptions(limit=12)).exit_code == ExitCode.OK

    def stored_records(date: str) -> list[dict[str, Any]]:
        keys = [k for k in list_lake(uri, s3, "Raw/TMDB/JSON/") if f"/{date.replace('-', '/')}/" in k]
        return [r for k in keys for r in json.loads(read_lake_object(uri, k, s3) or b"[]")]

    lake_ids = {r["imdb_id"]: r["id"] for r in stored_records(DATE)}
    fake_tmdb.clear()
    fake_tmdb.change("movie", sorted(lake_ids))
    failing = lake_ids[sorted(lake_ids)[-1]]
    fake_tmdb.fail(f"/movie/{failing}", 503, times=3)
    stopped = run(uri, fake_tmdb, DATE2, TmdbOptions(limit=1))
    assert stopped.counts["changes_failed"] == 1 and stopped.exit_code == ExitCode.SERVICE
    fake_tmdb.clear()
    fake_tmdb.change("movie", sorted(lake_ids))

    resumed = run(uri, fake_tmdb, DATE3, TmdbOptions(limit=1))

    assert resumed.exit_code == ExitCode.OK, resumed.problems
    assert refetched(fake_tmdb)[f"/movie/{failing}"] == 1
    assert resumed.counts["changes_fetched"] == 1 and resumed.counts["changes_already_stored"] == len(lake_ids) - 1
    assert {r["imdb_id"] for r in stored_records(DATE2)} | {r["imdb_id"] for r in stored_records(DATE3)} >= set(lake_ids)
    assert list_lake(uri, s3, "_moviedl/tmdb/ledger/segments/") == []


def test_a_window_with_more_pages_than_tmdb_serves_is_read_in_halves(
    lake: str, fake_tmdb: FakeTmdb, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake_ids = first_fetch(lake, fake_tmdb, series=0)
    some = sorted(lake_ids)[:8]
    for day in range(4):  # two changes a day over four days, one id a page: 8 pages
        fake_tmdb.change("movie", some[2 * day:2 * day + 2], on=TODAY + dt.timedelta(days=day))
    fake_tmdb.changes_page_size = 1
    fake_tmdb.changes_max_page = 2  # a TMDB that serves two pages (the real one: 1000)
    monkeypatch.setattr(feed, "MAX_PAGES", 2)
    monkeypatch.setattr(feed, "now_utc", lambda: dt.datetime.combine(TODAY + dt.timedelta(days=3), dt.time(6), dt.UTC))

    summary = run(lake, fake_tmdb, DATE2)

    assert summary.exit_code == ExitCode.OK, summary.problems
    assert all(r.status == 200 and int(r.query["page"]) <= 2 for r in fake_tmdb.requests if r.path.endswith("/changes"))
    assert refetched(fake_tmdb) == Counter({f"/movie/{lake_ids[i][1]}": 1 for i in some})
    assert summary.counts["changes_listed"] == 8
