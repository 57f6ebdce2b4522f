"""End to end on the bundled samples: ingest-csv, ingest-tmdb (fake TMDB), refine, then athena-ddl.

The DuckDB dialect is run as printed and every analysis view is compared with figures computed
independently from the sample CSVs (csv module) and the fake TMDB's answers; the same lake on S3
(moto) is registered in Glue.
"""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
import sqlglot
from fake_tmdb import API_KEY

DATE = "2024-05-01"
BUDGET, REVENUE = 63_000_000, 463_517_383  # what the fake TMDB answers for every movie


def read_titles(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    """The distinct titles of a sample CSV, parsed without moviedl."""
    def num(value: str) -> int | None:
        return None if value == "\\N" else int(value)

    titles = {}
    with open(path, encoding="utf-8", newline="") as source:
        for row in csv.DictReader(source, delimiter="|", quoting=csv.QUOTE_NONE):
            year = num(row["anoLancamento"])
            titles[row["id"]] = {
                "film_id": int(row["id"][2:]), "type": kind, "year": year,
                "decade": None if year is None else year // 10 * 10,
                "runtime": num(row["tempoMinutos"]),
                "genres": ["(unknown)"] if row["genero"] == "\\N" else row["genero"].split(","),
                "rating": None if row["notaMedia"] == "\\N" else float(row["notaMedia"]),
                "votes": num(row["numeroVotos"]),
                "popularity": round(int(row["id"][2:]) % 1000 / 7, 3),  # the fake TMDB's formula
            }
    return titles


def _avg(values: list[float | None]) -> float | None:
    """The exact mean (the views round it: compare within half a unit of the last digit)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


@pytest.fixture(scope="module")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The samples through the whole pipeline, once for this module."""
    from importlib import resources

    from fake_tmdb import FakeTmdb
    from typer.testing import CliRunner

    from moviedl.cli import app

    samples = resources.files("moviedl") / "samples"
    movies_csv, series_csv = Path(str(samples / "movies.csv")), Path(str(samples / "series.csv"))
    titles = {**read_titles(movies_csv, "movie"), **read_titles(series_csv, "series")}
    lake = tmp_path_factory.mktemp("e2e") / "lake"
    runner = CliRunner()
    with FakeTmdb() as fake, pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith(("MOVIEDL_", "TMDB_", "AWS_"))]:
            mp.delenv(name)  # as conftest's clean_env does, which a module fixture runs before
        mp.chdir(lake.parent)
        mp.setenv("TMDB_API_KEY", API_KEY)
        mp.setenv("MOVIEDL_TMDB_BASE_URL", fake.url)
        fake.tv_ids = {i for i, t in titles.items() if t["type"] == "series"}
        for args in (["ingest-csv", str(movies_csv), str(series_csv)],
                     ["ingest-tmdb", "--requests-per-second", "1000"],
                     ["refine"]):
            result = runner.invoke(app, [*args, "--lake", str(lake), "--date", DATE, "-q"], catch_exceptions=False)
            assert result.exit_code == 0, (args, result.output)
    return lake, titles


@pytest.fixture
def views(sample_lake, invoke) -> duckdb.DuckDBPyConnection:
    lake, _ = sample_lake
    result = invoke("athena-ddl", "--lake", lake, "--dialect", "duckdb")
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    con.execute(result.stdout)  # the printed script, as it is
    return con


def test_every_table_of_the_sample_lake_is_defined_from_its_files(sample_lake, invoke) -> None:
    lake, _ = sample_lake
    result = invoke("athena-ddl", "--lake", lake, "--location", "s3://bucket/lake", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"]["tables"] == 9 and summary["counts"]["views"] == 16
    for row in summary["rows"]:
        for key in ("statement", "projection"):
            if key in row:
                assert sqlglot.parse_one(row[key], read="athena") is not None


def test_genre_summary_matches_the_samples(views, sample_lake) -> None:
    _, titles = sample_lake
    per_genre: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for title in titles.values():
        for genre in title["genres"]:
            per_genre[genre].append(title)
    expected = {
        genre: (len(ts), sum(t["type"] == "movie" for t in ts), sum(t["type"] == "series" for t in ts),
                _avg([t["rating"] for t in ts]), sum(t["votes"] or 0 for t in ts),
                _avg([t["popularity"] for t in ts]), len(ts))
        for genre, ts in per_genre.items()
    }
    found = {row[0]: row[1:] for row in views.execute("SELECT * FROM v_genre_summary").fetchall()}
    assert set(found) == set(expected)
    for genre, row in found.items():
        assert row[:3] == expected[genre][:3], genre
        assert row[3] == pytest.approx(expected[genre][3], abs=0.0051), genre
        assert row[4] == expected[genre][4] and row[6] == expected[genre][6], genre
        assert row[5] == pytest.approx(expected[genre][5], abs=0.0051), genre
    assert found["Drama"][:3] == (65, 46, 19)  # the figures a reader of the samples can check


def test_decade_summary_matches_the_samples(views, sample_lake) -> None:
    _, titles = sample_lake
    per_decade: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for title in titles.values():
        if title["decade"] is not None:
            per_decade[title["decade"]].append(title)
    found = views.execute("SELECT * FROM v_decade_summary ORDER BY decade").fetchall()
    assert [row[0] for row in found] == sorted(per_decade)
    for decade, titles_, movies, series, rating, votes, runtime in found:
        ts = per_decade[decade]
        assert (titles_, movies, series) == (len(ts), sum(t["type"] == "movie" for t in ts),
                                             sum(t["type"] == "series" for t in ts)), decade
        assert rating == pytest.approx(_avg([t["rating"] for t in ts]), abs=0.0051)
        assert votes == sum(t["votes"] or 0 for t in ts)
        assert runtime == pytest.approx(_avg([t["runtime"] for t in ts]), abs=0.051)


def test_budget_vs_revenue_lists_every_movie_tmdb_gave_figures_for(views, sample_lake) -> None:
    _, titles = sample_lake
    movies = sorted(t["film_id"] for t in titles.values() if t["type"] == "movie")
    found = views.execute("SELECT film_id, budget, revenue, profit, revenue_to_budget "
                          "FROM v_budget_revenue ORDER BY film_id").fetchall()
    assert [row[0] for row in found] == movies  # series have no budget on TMDB
    assert {row[1:] for row in found} == {(BUDGET, REVENUE, REVENUE - BUDGET, round(REVENUE / BUDGET, 2))}


def test_top_titles_follow_the_imdb_votes(views, sample_lake) -> None:
    _, titles = sample_lake
    ranked = sorted((t for t in titles.values() if t["votes"] is not None), key=lambda t: (-t["votes"], t["film_id"]))
    found = views.execute("SELECT vote_rank, film_id, imdb_votes FROM v_top_titles ORDER BY vote_rank").fetchall()
    assert found == [(n, t["film_id"], t["votes"]) for n, t in enumerate(ranked[:100], 1)]
    assert found[0][1:] == (468569, 2953107)  # The Dark Knight


def test_title_facts_has_one_row_per_title_with_its_genres(views, sample_lake) -> None:
    _, titles = sample_lake
    found = dict(views.execute("SELECT imdb_id, genres FROM v_title_facts").fetchall())
    assert found == {i: ", ".join(sorted(t["genres"])) for i, t in titles.items()}


def test_the_sample_lake_on_s3_registers_in_glue(sample_lake, invoke, s3, bucket: str, aws_env: str) -> None:
    lake, _ = sample_lake
    for path in lake.rglob("*.parquet"):
        key = path.relative_to(lake).as_posix()
        if key.startswith(("Trusted/", "Refined/")):
            s3.upload_file(str(path), bucket, f"lake/{key}")
    database = f"e2e_{bucket.replace('-', '_')}"
    result = invoke("athena-ddl", "--lake", f"s3://{bucket}/lake", "--database", database, "--glue",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    glue = boto3.client("glue", endpoint_url=aws_env)
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=database)["TableList"]}
    assert len(tables) == 9
    assert tables["trusted_tmdb_movies"]["PartitionKeys"] == [{"Name": "dt", "Type": "string",
                                                             "Comment": "ingestion date, YYYY-MM-DD"}]
    assert tables["trusted_tmdb_movies"]["Parameters"]["projection.dt.range"] == f"{DATE},NOW"
    assert tables["fato_filme"]["StorageDescriptor"]["Location"] == f"s3://{bucket}/lake/Refined/FatoFilme/"
