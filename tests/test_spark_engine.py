"""The Spark engine (moviedl.spark_engine) refines to the same lake as DuckDB, proven row for row.

Each equality test builds two lakes from the same Raw data, refines one with ``--engine duckdb``
and the other with ``--engine spark``, and compares every Parquet file both published (each
Trusted partition, each quarantine file, each Refined table, the compacted state): the same
files, the same schema as DuckDB describes it, the same moviedl key-value metadata, and the same
rows as a multiset (row order within a file may differ). The refine summaries must agree too
(rows in and out, duplicates, quarantined, status). Data: the bundled samples; generated files
over three dates with dirty rows, refined in two runs; the samples enriched from the fake TMDB
server plus a Raw TMDB file of awkward records.

One SparkSession serves the whole test session (starting one takes ~20 s); everything here is
skipped when PySpark or Java is missing.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from moviedl.cli import app
from tests.conftest import SAMPLE_DATE, SAMPLES, no_settings
from tests.dirty_data import write_file

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'moviedl[spark]')")

from moviedl.spark_engine import java_problem  # noqa: E402 - after the skip

if java_problem():
    pytest.skip(f"Spark cannot start: {java_problem()}", allow_module_level=True)

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory):
    """The Spark session every test here shares; the engine finds it running and reuses it."""
    from moviedl.spark_engine import session

    spark, created = session(tmp_path_factory.mktemp("spark"))
    yield spark
    if created:
        spark.stop()


# --- running both engines -----------------------------------------------------------------------


def cli(lake: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``moviedl ARGS --lake LAKE --format json``; returns the summary (exit code checked by
    the caller through ``exit_code``)."""
    runner = CliRunner()
    with no_settings() as mp:
        for name, value in (env or {}).items():
            mp.setenv(name, value)
        result = runner.invoke(app, [*args, "--lake", str(lake), "--format", "json"], catch_exceptions=False)
    summary = json.loads(result.stdout)
    assert result.exit_code == summary["exit_code"], result.output
    return summary


def refine_both(duck: Path, spark: Path, *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``refine ARGS`` on each lake with its engine; both must succeed."""
    by_duck = cli(duck, "refine", "--engine", "duckdb", *args)
    by_spark = cli(spark, "refine", "--engine", "spark", *args)
    assert by_duck["exit_code"] == 0, by_duck["problems"]
    assert by_spark["exit_code"] == 0, by_spark["problems"]
    return by_duck, by_spark


def twin(lake: Path, to: Path) -> Path:
    """A copy of ``lake`` (its Raw zone and ingest records) for the other engine."""
    shutil.copytree(lake, to)
    return to


def assert_same_summary(duck: dict[str, Any], spark: dict[str, Any]) -> None:
    """The same rows (counts and status per table), counts, checks (observed values included)
    and notes, once each lake's own path is taken out."""

    def plain(summary: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps({k: summary[k] for k in ("rows", "counts", "checks", "notes", "problems")})
        text = text.replace(summary["lake"], "<lake>")
        found = json.loads(text)
        for row in found["rows"]:
            row.pop("bytes")  # Parquet encodings differ; the rows are compared file by file
        found["notes"] = [n for n in found["notes"] if not n.startswith("run record:")]
        return found

    assert plain(spark) == plain(duck)


def parquet_files(lake: Path) -> list[str]:
    """Every Parquet file of a lake's current version (relative keys; the archived previous
    versions under _moviedl/versions/ were compared when they were current)."""
    return sorted(
        key for key in (p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet"))
        if not key.startswith(("_moviedl/versions/", "_moviedl/staging/"))
    )


def described(path: Path) -> list[tuple[str, str]]:
    con = duckdb.connect()
    try:
        return [(n, t) for n, t, *_ in con.execute(
            "DESCRIBE SELECT * FROM read_parquet($p, hive_partitioning = false)", {"p": str(path)}
        ).fetchall()]
    finally:
        con.close()


def rows(path: Path) -> Counter[tuple[Any, ...]]:
    """The rows of a Parquet file as a multiset (lists as tuples)."""

    def frozen(value: Any) -> Any:
        return tuple(frozen(v) for v in value) if isinstance(value, list) else value

    table = pq.read_table(path)
    return Counter(tuple(frozen(v) for v in row.values()) for row in table.to_pylist())


def moviedl_metadata(path: Path) -> dict[str, str]:
    found = pq.read_metadata(path).metadata or {}
    return {k.decode(): v.decode() for k, v in found.items() if k.startswith(b"moviedl.")}


def assert_same_lake(duck: Path, spark: Path) -> list[str]:
    """Every Parquet file of ``duck`` is in ``spark`` with the same schema, metadata and rows;
    returns the files compared."""
    files = parquet_files(duck)
    assert parquet_files(spark) == files
    assert any(f.startswith("Refined/") for f in files) and any(f.startswith("Trusted/") for f in files)
    for key in files:
        a, b = duck / key, spark / key
        assert described(b) == described(a), key
        assert moviedl_metadata(b) == moviedl_metadata(a), key
        left, right = rows(a), rows(b)
        if left != right:
            only_duck = list((left - right).elements())[:5]
            only_spark = list((right - left).elements())[:5]
            pytest.fail(f"{key}: {sum(left.values())} vs {sum(right.values())} rows; "
                        f"only DuckDB: {only_duck}; only Spark: {only_spark}")
    return files


# --- (a) the bundled samples ----------------------------------------------------------------------


def test_the_samples_refine_to_the_same_lake(spark_session, tmp_path: Path) -> None:
    duck = tmp_path / "duck"
    cli(duck, "ingest-csv", str(SAMPLES / "movies.csv"), str(SAMPLES / "series.csv"), "--date", SAMPLE_DATE)
    spark = twin(duck, tmp_path / "spark")
    by_duck, by_spark = refine_both(duck, spark, "--date", SAMPLE_DATE)
    assert_same_summary(by_duck, by_spark)
    files = assert_same_lake(duck, spark)
    assert len(files) >= 7


# --- (b) generated data: three dates, dirty rows, two runs ----------------------------------------


def test_dirty_data_over_three_dates_refines_to_the_same_lake(spark_session, tmp_path: Path) -> None:
    # the generator's clean rows break value rules too (deaths beyond now + 10 years...): about
    # 5-12% of a file is quarantined, above the default 10% that fails the audit
    Path("moviedl.toml").write_text("[checks]\nquarantine_fail_share = 0.3\n", "utf-8")
    duck = tmp_path / "duck"
    data = tmp_path / "data"
    data.mkdir()
    days = ["2024-05-01", "2024-05-02", "2024-05-03"]
    for n, day in enumerate(days[:2]):
        movies = write_file(data / f"movies-{n}.csv", False, seed=10 + n, titles=60, dirty=0.005)
        series = write_file(data / f"series-{n}.csv", True, seed=20 + n, titles=30, dirty=0.005)
        cli(duck, "ingest-csv", str(movies), str(series), "--date", day)
    spark = twin(duck, tmp_path / "spark")
    first = refine_both(duck, spark)  # catch-up: both dates
    assert {r["table"] for r in first[0]["rows"]} >= {f"trusted_movies dt={d}" for d in days[:2]}
    assert_same_summary(*first)
    assert first[0]["counts"]["quarantined"] > 0 and first[0]["counts"]["duplicates"] > 0
    assert_same_lake(duck, spark)

    movies = write_file(data / "movies-2.csv", False, seed=12, titles=60, dirty=0.005)
    series = write_file(data / "series-2.csv", True, seed=22, titles=30, dirty=0.005)
    for lake in (duck, spark):
        cli(lake, "ingest-csv", str(movies), str(series), "--date", days[2])
    second = refine_both(duck, spark)
    assert_same_summary(*second)
    files = assert_same_lake(duck, spark)
    assert any("quarantine" in f for f in files)


# --- (c) TMDB data: the fake server's answers, and records TMDB would never send ---------------


def awkward_tmdb_records(movie_id: str, series_id: str) -> dict[str, list[Any]]:
    """Raw TMDB records beyond what ingest-tmdb stores: a later fetch of a title (it wins), empty
    and odd values, and records each engine must quarantine for the same reason."""
    later = "2030-01-01T00:00:00Z"
    movie = {"id": int(movie_id[2:]), "imdb_id": movie_id, "media_type": "movie", "fetched_at": later,
             "title": "Amélie ✨ \"quoted\"", "original_title": "", "release_date": "",
             "original_language": "fr", "popularity": 0.0001, "vote_average": 7, "vote_count": 12,
             "genres": [{"id": 1}, {"name": None}, {"name": "Drama"}, 5, None, {"name": 7}],
             "budget": 0, "revenue": 12345678901, "runtime": 121}
    movies: list[Any] = [
        movie,
        {**movie, "id": 901, "imdb_id": "tt9000901", "popularity": "high"},
        {**movie, "id": 902, "imdb_id": None},
        {**movie, "id": 903, "imdb_id": "tt9000903", "media_type": "tv"},
        {**movie, "id": 904, "imdb_id": "tt9000904", "runtime": 1.5, "genres": "Drama"},
        {**movie, "id": 905, "imdb_id": "tt9000905", "vote_average": 11.5},
        {**movie, "id": 906, "imdb_id": "tt9000906", "fetched_at": "yesterday"},
        {**movie, "id": "907", "imdb_id": "tt9000907", "genres": []},
        5,
    ]
    series = {"id": int(series_id[2:]), "imdb_id": series_id, "media_type": "tv", "fetched_at": later,
              "name": "Série", "original_name": None, "first_air_date": "2001-02-03",
              "last_air_date": "", "original_language": "pt", "popularity": 12.5,
              "vote_average": 8.25, "vote_count": 99, "genres": [{"id": 18, "name": "Drama"}],
              "number_of_seasons": "9", "number_of_episodes": 180}
    return {
        "Movies": movies,
        "Series": [series, {**series, "id": 908, "imdb_id": "tt9000908",
                            "first_air_date": "2001-02-03", "last_air_date": "1999-01-01"}],
    }


def test_a_lake_with_tmdb_data_refines_to_the_same_lake(spark_session, tmp_path: Path) -> None:
    from tests.fake_tmdb import API_KEY, FakeTmdb

    Path("moviedl.toml").write_text("[checks]\nquarantine_fail_share = 0.3\n", "utf-8")
    duck = tmp_path / "duck"
    movies_csv, series_csv = SAMPLES / "movies.csv", SAMPLES / "series.csv"
    series_ids = [line.split("|", 1)[0] for line in series_csv.read_text("utf-8").splitlines()[1:]]
    movie_id = movies_csv.read_text("utf-8").splitlines()[1].split("|", 1)[0]
    with FakeTmdb(varied=True) as tmdb:
        tmdb.tv_ids.update(series_ids)
        env = {"MOVIEDL_TMDB_BASE_URL": tmdb.url, "TMDB_API_KEY": API_KEY}
        cli(duck, "ingest-csv", str(movies_csv), str(series_csv), "--date", SAMPLE_DATE)
        fetched = cli(duck, "ingest-tmdb", "--date", SAMPLE_DATE, env=env)
        assert fetched["exit_code"] == 0, fetched["problems"]
    folder = SAMPLE_DATE.replace("-", "/")
    for kind, records in awkward_tmdb_records(movie_id, series_ids[0]).items():
        path = duck / f"Raw/TMDB/JSON/{kind}/{folder}/zz-awkward-99999.json"
        path.write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    spark = twin(duck, tmp_path / "spark")
    by_duck, by_spark = refine_both(duck, spark, "--date", SAMPLE_DATE)
    assert_same_summary(by_duck, by_spark)
    files = assert_same_lake(duck, spark)
    assert {"Trusted/TMDB/Parquet/Movies", "Trusted/TMDB/Parquet/Series"} <= {f.rsplit("/", 2)[0] for f in files}
    tables = {row["table"]: row for row in by_duck["rows"]}
    assert tables[f"trusted_tmdb_movies dt={SAMPLE_DATE}"]["quarantined"] >= 6
    assert tables[f"trusted_tmdb_movies dt={SAMPLE_DATE}"]["duplicates"] >= 1
