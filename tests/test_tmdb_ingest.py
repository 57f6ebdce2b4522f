"""ingest-tmdb as a library stage: which ids, what lands in the Raw zone, resume and incremental runs.

Raw CSVs come from ``moviedl ingest-csv`` on the bundled samples; TMDB is a local fake server.
What the lake holds is read back with plain ``json``/``pathlib`` (or boto3), not moviedl's code.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import list_lake, read_lake_object

from moviedl.core.config import load_settings
from moviedl.core.errors import ExitCode, InputFileError, UsageError
from moviedl.core.summary import Summary
from moviedl.stages.tmdb.client import Backoff, TmdbAuthError, TmdbClient, check_appends
from moviedl.stages.tmdb.ingest import TmdbOptions, TmdbProgress, ingest_tmdb
from moviedl.storage import open_lake
from tests.fake_tmdb import API_KEY, FakeTmdb

DATE = "2024-05-01"
FAST = Backoff(initial=0.001, maximum=0.01)


def read_titles(path: Path) -> dict[str, dict[str, Any]]:
    """The distinct titles of a sample CSV, parsed independently of moviedl (csv module)."""
    titles: dict[str, dict[str, Any]] = {}
    with open(path, encoding="utf-8", newline="") as source:
        for row in csv.DictReader(source, delimiter="|", quoting=csv.QUOTE_NONE):
            def num(value: str) -> int | None:
                return None if value == "\\N" else int(value)

            titles[row["id"]] = {
                "genres": [] if row["genero"] == "\\N" else [g.lower() for g in row["genero"].split(",")],
                "year": num(row["anoLancamento"]),
                "votes": num(row["numeroVotos"]),
            }
    return titles


@pytest.fixture
def samples(movies_csv: Path, series_csv: Path) -> dict[str, dict[str, dict[str, Any]]]:
    return {"movies": read_titles(movies_csv), "series": read_titles(series_csv)}


def ingest_csvs(invoke, lake: str, movies_csv: Path, series_csv: Path, date: str = DATE) -> None:
    result = invoke("ingest-csv", movies_csv, series_csv, "--lake", lake, "--date", date, "-q")
    assert result.exit_code == 0, result.output


@pytest.fixture
def lake(tmp_path: Path, invoke, movies_csv: Path, series_csv: Path) -> str:
    """A local lake holding the bundled samples as the Raw CSVs of DATE."""
    uri = str(tmp_path / "lake")
    ingest_csvs(invoke, uri, movies_csv, series_csv)
    return uri


def run(lake: str, fake: FakeTmdb, options: TmdbOptions | None = None, *, date: str | None = DATE,
        per_file: int = 100, max_attempts: int = 3, on_progress=None) -> Summary:
    flags = {"lake": lake, "date": date, "tmdb.records_per_file": per_file, "tmdb.concurrency": 4,
             "tmdb.max_attempts": max_attempts, "tmdb.requests_per_second": 1000, "tmdb.timeout_seconds": 2}
    settings = load_settings(flags, env={"TMDB_API_KEY": API_KEY, "MOVIEDL_TMDB_BASE_URL": fake.url})
    options = options or TmdbOptions()
    client = TmdbClient.from_settings(settings, appends=check_appends(options.appends), backoff=FAST)
    return ingest_tmdb(settings, open_lake(settings), options, client=client, on_progress=on_progress)


def lookups(fake: FakeTmdb) -> list[str]:
    """The requests made, but for TMDB's change lists (every run on a lake holding TMDB data reads them)."""
    return [p for p in fake.paths() if not p.endswith("/changes")]


def stored(lake: str, s3=None, prefix: str = "Raw/TMDB/JSON/") -> dict[str, list[dict[str, Any]]]:
    """Every Raw TMDB JSON file (key -> its records), read without moviedl's code."""
    files = {}
    for key in list_lake(lake, s3, prefix):
        data = read_lake_object(lake, key, s3)
        assert data is not None
        files[key] = json.loads(data)
    return files


def stored_ids(files: dict[str, list[dict[str, Any]]]) -> Counter[str]:
    return Counter(record["imdb_id"] for records in files.values() for record in records)


# --- what gets looked up and stored ---------------------------------------------------------


def test_each_title_is_looked_up_once_by_id_and_stored_by_media_type(
    lake: str, fake_tmdb: FakeTmdb, samples: dict[str, dict[str, Any]]
) -> None:
    movies, series = set(samples["movies"]), set(samples["series"])
    fake_tmdb.tv_ids.update(series)
    fake_tmdb.missing_ids.update(sorted(movies)[:3])
    summary = run(lake, fake_tmdb, per_file=10)

    assert Counter(fake_tmdb.found_ids()) == Counter(movies | series)  # each id once, by id
    files = stored(lake)
    ids = stored_ids(files)
    assert set(ids) == (movies | series) - fake_tmdb.missing_ids and max(ids.values()) == 1
    for key, records in files.items():
        folder = key.split("/")[3]
        assert key.startswith(f"Raw/TMDB/JSON/{folder}/2024/05/01/")
        assert 1 <= len(records) <= 10
        assert {r["media_type"] for r in records} == {"movie" if folder == "Movies" else "tv"}
        assert all(r["fetched_at"] and r["id"] for r in records)
    assert {r["imdb_id"] for k, rs in files.items() if "/Series/" in k for r in rs} == series
    # file names sort in write order (the summary lists files as they were written)
    written = [row["file"] for row in summary.rows]
    for folder in ("Movies", "Series"):
        in_folder = [f for f in written if f"/{folder}/" in f]
        assert in_folder == sorted(in_folder)
    assert summary.exit_code == ExitCode.OK
    assert summary.counts["ids_considered"] == len(movies | series)
    assert summary.counts["fetched"] == len(movies | series) - 3
    assert summary.counts["not_found"] == 3
    assert summary.counts["files_written"] == len(files)
    assert summary.counts["requests"] == len(fake_tmdb.requests)


def test_files_stay_under_the_byte_limit(lake: str, fake_tmdb: FakeTmdb, samples) -> None:
    fake_tmdb.padding = 3000  # ~3 KB per record
    summary = run(lake, fake_tmdb, TmdbOptions(kind="movies", max_file_bytes=20_000))

    files = stored(lake)
    assert len(stored_ids(files)) == len(samples["movies"])
    for key in files:
        assert (Path(lake) / key).stat().st_size <= 20_000
    assert max(len(records) for records in files.values()) < 10
    assert summary.counts["fetched"] == len(samples["movies"])


def genre_in(*wanted: str):
    return lambda t: any(g in t["genres"] for g in wanted)


@pytest.mark.parametrize(
    ("options", "keep"),
    [
        (TmdbOptions(genres=("DRAMA",)), genre_in("drama")),
        (TmdbOptions(genres=("Sci-Fi,horror", "war")), genre_in("sci-fi", "horror", "war")),
        (TmdbOptions(year_from=1990, year_to=1999), lambda t: t["year"] is not None and 1990 <= t["year"] <= 1999),
        (TmdbOptions(min_votes=1_000_000), lambda t: t["votes"] is not None and t["votes"] >= 1_000_000),
    ],
    ids=["genre", "genre-lists", "years", "votes"],
)
def test_filters_pick_the_matching_titles(lake: str, fake_tmdb: FakeTmdb, samples, options, keep) -> None:
    expected = {i for kind in samples.values() for i, t in kind.items() if keep(t)}
    assert expected, "the filter should match some sample titles"
    summary = run(lake, fake_tmdb, options)

    assert set(fake_tmdb.found_ids()) == expected
    assert summary.counts["ids_considered"] == len(expected)


def test_kind_picks_one_csv(lake: str, fake_tmdb: FakeTmdb, samples) -> None:
    run(lake, fake_tmdb, TmdbOptions(kind="series"))
    assert set(fake_tmdb.found_ids()) == set(samples["series"])


def test_ids_file_limits_the_lookup_to_its_ids(lake: str, fake_tmdb: FakeTmdb, samples, tmp_path: Path) -> None:
    chosen = sorted(samples["movies"])[:2] + sorted(samples["series"])[:1]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"# wanted\n{chosen[0]}\n\n{chosen[1]}  # a comment\n{chosen[2]}\ntt99999999\n")
    summary = run(lake, fake_tmdb, TmdbOptions(ids_file=ids_file))

    assert sorted(fake_tmdb.found_ids()) == sorted(chosen)
    assert any("1 id(s) of --ids-file are not in the Raw CSVs" in n for n in summary.notes)


def test_a_bad_ids_file_names_the_line(lake: str, fake_tmdb: FakeTmdb, tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("tt0012349\nThe Kid\n")
    with pytest.raises(InputFileError, match=r"ids.txt, line 2: 'The Kid' is not an IMDb title id"):
        run(lake, fake_tmdb, TmdbOptions(ids_file=ids_file))
    assert fake_tmdb.requests == []


def test_limit_leaves_the_rest_for_the_next_run(lake: str, fake_tmdb: FakeTmdb, samples) -> None:
    everything = set(samples["movies"]) | set(samples["series"])
    first = run(lake, fake_tmdb, TmdbOptions(limit=30))
    asked_first = set(fake_tmdb.found_ids())
    fake_tmdb.clear()
    second = run(lake, fake_tmdb)

    assert len(asked_first) == 30 and first.counts["left_for_later"] == len(everything) - 30
    assert set(fake_tmdb.found_ids()) == everything - asked_first
    assert second.counts["already_present"] == 30
    assert max(stored_ids(stored(lake)).values()) == 1


def test_the_latest_csv_date_is_used_when_no_date_is_given(
    lake: str, fake_tmdb: FakeTmdb, invoke, movies_csv: Path, series_csv: Path
) -> None:
    ingest_csvs(invoke, lake, movies_csv, series_csv, date="2024-06-02")
    summary = run(lake, fake_tmdb, TmdbOptions(limit=3), date=None)

    assert summary.date == "2024-06-02"
    assert all("/2024/06/02/" in key for key in stored(lake))


def test_no_raw_csv_is_a_usage_error(tmp_path: Path, fake_tmdb: FakeTmdb, lake: str) -> None:
    with pytest.raises(UsageError, match="no Raw CSV") as caught:
        run(str(tmp_path / "empty"), fake_tmdb, date=None)
    assert "moviedl ingest-csv" in str(caught.value)
    with pytest.raises(UsageError, match="for 2023-01-01"):
        run(lake, fake_tmdb, date="2023-01-01")
    assert fake_tmdb.requests == []


# --- incremental and resumable --------------------------------------------------------------


def test_a_second_run_makes_no_request_and_not_found_ids_are_remembered(lake: str, fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.missing_ids.update({"tt0012349", "tt0098904"})
    run(lake, fake_tmdb)
    fake_tmdb.clear()
    again = run(lake, fake_tmdb, TmdbOptions(changes=False))

    assert fake_tmdb.requests == []
    assert again.counts["requests"] == 0 and again.counts["files_written"] == 0
    assert "changes feed skipped (--no-changes)" in again.notes
    synced = run(lake, fake_tmdb)  # TMDB changed nothing: one page of each change list, nothing else
    assert sorted(fake_tmdb.paths()) == ["/movie/changes", "/tv/changes"]
    assert synced.counts["requests"] == synced.counts["changes_requests"] == 2
    assert synced.counts["files_written"] == 0
    assert again.counts["skipped_not_found"] == 2
    assert again.counts["already_present"] == again.counts["ids_considered"] - 2

    fake_tmdb.missing_ids.discard("tt0012349")  # TMDB learnt about it meanwhile
    retried = run(lake, fake_tmdb, TmdbOptions(retry_not_found=True))
    assert sorted(fake_tmdb.found_ids()) == ["tt0012349", "tt0098904"]
    assert (retried.counts["fetched"], retried.counts["not_found"]) == (1, 1)
    assert stored_ids(stored(lake))["tt0012349"] == 1


def test_ids_of_an_earlier_date_are_skipped_unless_refresh(
    lake: str, fake_tmdb: FakeTmdb, invoke, movies_csv: Path, series_csv: Path
) -> None:
    run(lake, fake_tmdb, TmdbOptions(kind="series"))
    ingest_csvs(invoke, lake, movies_csv, series_csv, date="2024-06-02")
    fake_tmdb.clear()

    later = run(lake, fake_tmdb, TmdbOptions(kind="series"), date="2024-06-02")
    assert lookups(fake_tmdb) == [] and later.counts["already_present"] == later.counts["ids_considered"]

    refreshed = run(lake, fake_tmdb, TmdbOptions(kind="series", refresh=True), date="2024-06-02")
    assert refreshed.counts["fetched"] == later.counts["ids_considered"]
    june = {k: v for k, v in stored(lake).items() if "/2024/06/02/" in k}
    assert max(stored_ids(june).values()) == 1 and sum(stored_ids(june).values()) == refreshed.counts["fetched"]

    fake_tmdb.clear()  # the same --refresh again: this date already has them
    run(lake, fake_tmdb, TmdbOptions(kind="series", refresh=True), date="2024-06-02")
    assert lookups(fake_tmdb) == []


def test_a_raw_file_the_ledger_missed_is_adopted_not_refetched(lake: str, fake_tmdb: FakeTmdb) -> None:
    run(lake, fake_tmdb, TmdbOptions(limit=40), per_file=7)
    before = stored(lake)
    # A kill between writing a Raw file and recording it: the ledger never heard of the files.
    for path in (Path(lake) / "_moviedl" / "tmdb" / "ledger").rglob("*.jsonl"):
        path.unlink()
    fake_tmdb.clear()
    summary = run(lake, fake_tmdb, TmdbOptions(limit=40), per_file=7)

    asked = set(fake_tmdb.found_ids())
    assert asked.isdisjoint(stored_ids(before))  # nothing stored was asked for again
    assert len(asked) == 40
    assert max(stored_ids(stored(lake)).values()) == 1
    assert any(f"{len(before)} Raw file(s) from an interrupted run" in n for n in summary.notes)


def test_a_deleted_raw_file_is_fetched_again_and_only_its_ids(
    lake_uri: str, s3, invoke, movies_csv: Path, series_csv: Path, fake_tmdb: FakeTmdb
) -> None:
    """refine advises deleting a damaged TMDB JSON file and running ingest-tmdb again: the
    ledger still names its ids, but their file is gone, so exactly they are fetched again."""
    ingest_csvs(invoke, lake_uri, movies_csv, series_csv)
    run(lake_uri, fake_tmdb, per_file=10)
    before = stored(lake_uri, s3)
    damaged = sorted(before)[3]
    lost = {record["imdb_id"] for record in before[damaged]}
    if lake_uri.startswith("s3://"):
        bucket, _, prefix = lake_uri[5:].partition("/")
        s3.delete_object(Bucket=bucket, Key=f"{prefix}/{damaged}")
    else:
        (Path(lake_uri) / damaged).unlink()
    fake_tmdb.clear()
    summary = run(lake_uri, fake_tmdb, per_file=10)

    assert Counter(fake_tmdb.found_ids()) == Counter(lost)  # those ids, once each, nothing else
    after = stored(lake_uri, s3)
    assert damaged not in after
    ids = stored_ids(after)
    assert set(ids) == set(stored_ids(before)) and max(ids.values()) == 1
    assert summary.exit_code == ExitCode.OK
    assert summary.counts["refetched_missing_file"] == summary.counts["fetched"] == len(lost) == 10
    assert any(f"1 Raw TMDB file(s) named in the ledger no longer exist ({damaged}): "
               f"10 of their 10 id(s) fetched again" in note for note in summary.notes)
    for key in list_lake(lake_uri, s3, "_moviedl/tmdb/ledger/"):  # the ledger is clean again
        assert damaged.encode() not in (read_lake_object(lake_uri, key, s3) or b"")
    fake_tmdb.clear()
    again = run(lake_uri, fake_tmdb)
    assert lookups(fake_tmdb) == [] and again.counts["refetched_missing_file"] == 0
    assert not any("no longer exist" in note for note in again.notes)


def test_the_ledger_stays_a_few_files_over_many_runs(lake: str, fake_tmdb: FakeTmdb) -> None:
    for _ in range(18):
        run(lake, fake_tmdb, TmdbOptions(limit=2))
    asked = set(fake_tmdb.found_ids())
    ledger = list_lake(lake, prefix="_moviedl/tmdb/ledger/")
    fake_tmdb.clear()
    summary = run(lake, fake_tmdb)

    assert len(asked) == 36
    assert 1 <= len(ledger) <= 16 and not any("/segments/" in key for key in ledger)
    assert set(fake_tmdb.found_ids()).isdisjoint(asked) and summary.counts["already_present"] == 36


def test_ctrl_c_keeps_what_was_fetched_and_the_rerun_fetches_the_rest(lake: str, fake_tmdb: FakeTmdb) -> None:
    def interrupt(progress: TmdbProgress) -> None:
        if progress.done >= 25:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(lake, fake_tmdb, on_progress=interrupt)
    kept = stored_ids(stored(lake))
    asked_first = Counter(fake_tmdb.found_ids())
    assert len(kept) >= 25  # everything looked up before the interrupt was saved
    fake_tmdb.clear()
    summary = run(lake, fake_tmdb)

    assert set(fake_tmdb.found_ids()).isdisjoint(kept)
    assert summary.counts["already_present"] == len(kept)
    final = stored_ids(stored(lake))
    assert max(final.values()) == 1 and len(final) == summary.counts["ids_considered"]
    assert set(asked_first) - set(kept) <= set(fake_tmdb.found_ids())


# --- failures -------------------------------------------------------------------------------


def test_an_id_that_keeps_failing_is_reported_and_the_rest_is_stored(lake: str, fake_tmdb: FakeTmdb, samples) -> None:
    everything = set(samples["movies"]) | set(samples["series"])
    fake_tmdb.fail("/find/tt0012349", 503, times=100)
    summary = run(lake, fake_tmdb, max_attempts=2)

    assert summary.exit_code == ExitCode.SERVICE
    assert summary.counts["failed"] == 1 and summary.counts["fetched"] == len(everything) - 1
    assert summary.problems == [
        "tt0012349: GET /find/tt0012349: HTTP 503: Service offline: This service is temporarily offline, "
        "try again later. (TMDB status_code 9) (gave up after 2 attempts)"
    ]
    assert set(stored_ids(stored(lake))) == everything - {"tt0012349"}

    fake_tmdb.clear()  # TMDB is back: the next run asks only for the failed id
    again = run(lake, fake_tmdb)
    assert fake_tmdb.found_ids() == ["tt0012349"] and again.exit_code == ExitCode.OK


def test_a_401_stops_the_run_at_once_and_keeps_what_was_fetched(lake: str, fake_tmdb: FakeTmdb, samples) -> None:
    everything = sorted(set(samples["movies"]) | set(samples["series"]))
    fake_tmdb.fail(f"/find/{everything[40]}", 401)
    with pytest.raises(TmdbAuthError, match="HTTP 401.*stopped at once") as caught:
        run(lake, fake_tmdb)

    assert caught.value.exit_code == 3
    assert len(fake_tmdb.found_ids()) < len(everything) - 20  # it did not carry on
    kept = stored_ids(stored(lake))
    assert len(kept) >= 20
    fake_tmdb.clear()
    run(lake, fake_tmdb)
    assert set(fake_tmdb.found_ids()).isdisjoint(kept)


# --- S3 ---------------------------------------------------------------------------------------


def test_an_s3_lake_resumes_and_adopts_like_a_local_one(
    bucket: str, s3, invoke, movies_csv: Path, series_csv: Path, fake_tmdb: FakeTmdb
) -> None:
    uri = f"s3://{bucket}/lake"
    ingest_csvs(invoke, uri, movies_csv, series_csv)
    fake_tmdb.tv_ids.update(read_titles(series_csv))
    run(uri, fake_tmdb, TmdbOptions(limit=30), per_file=8)
    first = stored_ids(stored(uri, s3))
    for key in list_lake(uri, s3, "_moviedl/tmdb/ledger/"):  # lose the ledger, keep the files
        s3.delete_object(Bucket=bucket, Key=f"lake/{key}")
    fake_tmdb.clear()
    summary = run(uri, fake_tmdb, per_file=8)

    assert set(fake_tmdb.found_ids()).isdisjoint(first)
    files = stored(uri, s3)
    ids = stored_ids(files)
    assert max(ids.values()) == 1 and len(ids) == summary.counts["ids_considered"]
    assert all(len(records) <= 8 for records in files.values())
    assert any(key.startswith("Raw/TMDB/JSON/Series/2024/05/01/series-") for key in files)
    assert list_lake(uri, s3, "_moviedl/tmdb/ledger/segments/") == []  # merged at the end
    fake_tmdb.clear()
    run(uri, fake_tmdb)
    assert lookups(fake_tmdb) == []
