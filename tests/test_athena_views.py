"""The analysis views: run for real on DuckDB over a lake's Parquet files, translated for Athena."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot
from regenerate_ddl_golden import build_lake, golden_settings
from sqlglot import exp

from moviedl.core.contract import REFINED_TABLES, TABLES
from moviedl.stages.catalog.athena_ddl import DdlOptions, athena_ddl
from moviedl.stages.catalog.views import athena_view, bind, load_views
from moviedl.storage.local import LocalLake


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return build_lake(tmp_path / "lake")


def _duckdb_over(lake: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that ran the emitted --dialect duckdb statements, as they are."""
    result = athena_ddl(golden_settings(lake), LocalLake(lake), DdlOptions(dialect="duckdb"))
    assert result.summary.exit_code == 0, result.summary.problems
    con = duckdb.connect()
    for statement in result.statements:
        con.execute(statement.sql)
    return con


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_table_views_read_every_partition_with_dt_as_a_string(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT dt, count(*) FROM trusted_movies GROUP BY dt ORDER BY dt") == [
        ("2024-05-01", 2), ("2024-05-02", 1)]
    assert _rows(con, "SELECT typeof(dt) FROM trusted_movies LIMIT 1") == [("VARCHAR",)]
    assert _rows(con, "SELECT count(*) FROM fato_filme") == [(5,)]
    columns = [r[0] for r in _rows(con, "DESCRIBE dim_filmes")]
    assert columns == list(TABLES["dim_filmes"].column_names)  # no dt on unpartitioned tables


def test_genre_summary_counts_each_title_once_per_genre(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT * FROM v_genre_summary ORDER BY genre") == [
        # genre, titles, movies, series, avg rating, votes, avg popularity, titles with TMDB
        ("(unknown)", 1, 1, 0, None, None, None, 0),
        ("Comedy", 2, 1, 1, 8.5, 3000, 20.0, 2),
        ("Drama", 2, 2, 0, 7.0, 1500, 10.0, 1),
    ]


def test_decade_summary_counts_titles_not_genre_rows(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT * FROM v_decade_summary ORDER BY decade") == [
        # decade, titles, movies, series, avg rating, votes, avg runtime
        (1990, 2, 2, 0, 7.0, 1500, 110.0),  # Alfa is in two genres but counts once
        (2000, 1, 0, 1, 9.0, 2000, 45.0),
    ]


def test_budget_vs_revenue_lists_titles_with_both(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT film_id, title, genres, budget, revenue, profit, revenue_to_budget "
                      "FROM v_budget_revenue ORDER BY film_id") == [
        (1, "Alfa", "Comedy, Drama", 100, 300, 200, 3.0),
        (3, "Gama", "Comedy", 50, 25, -25, 0.5),
    ]


def test_top_titles_rank_by_votes_and_skip_titles_without_votes(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT vote_rank, title, imdb_votes FROM v_top_titles ORDER BY vote_rank") == [
        (1, "Gama", 2000), (2, "Alfa", 1000), (3, "Beta", 500)]


def test_genre_decade_counts_a_title_once_per_genre_and_keeps_no_year_apart(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT * FROM v_genre_decade ORDER BY genre, decade NULLS LAST, votes_band") == [
        # genre, decade, type, votes band, titles, rated titles, avg rating, total votes
        ("(unknown)", None, "movie", 0, 1, 0, None, None),
        ("Comedy", 1990, "movie", 1000, 1, 1, 8.0, 1000),
        ("Comedy", 2000, "series", 1000, 1, 1, 9.0, 2000),
        ("Drama", 1990, "movie", 0, 1, 1, 6.0, 500),
        ("Drama", 1990, "movie", 1000, 1, 1, 8.0, 1000),
    ]


def test_title_level_views_count_each_title_once_per_genre_combination_and_votes_band(lake: Path) -> None:
    """The grain every filter of the report needs: a title counts once (its genres joined, as in
    v_title_facts), so a genre filter is a match on `genres`, and summing all rows gives totals."""
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT genres, votes_band, imdb_votes FROM v_title_facts ORDER BY film_id") == [
        ("Comedy, Drama", 1000, 1000), ("Drama", 0, 500), ("Comedy", 1000, 2000), ("(unknown)", 0, None)]
    for view in ("v_kind_decade", "v_rating_distribution", "v_runtime_distribution", "v_language_summary",
                 "v_tmdb_coverage", "v_budget_by_year", "v_artist_summary"):
        columns = [r[0] for r in _rows(con, f"DESCRIBE {view}")]
        assert {"genres", "decade", "title_type", "votes_band"} <= set(columns), view
    # Drama under a minimum of 1,000 votes: Alfa only (Beta has 500)
    assert _rows(con, "SELECT sum(titles) FROM v_kind_decade WHERE list_contains(string_split(genres, ', '), "
                      "'Drama') AND votes_band >= 1000") == [(1,)]
    assert _rows(con, "SELECT sum(titles) FROM v_kind_decade") == [(4,)]  # every title once


def test_kind_decade_and_tmdb_coverage_count_titles_per_type(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT title_type, decade, genres, titles, rated_titles, avg_imdb_rating, avg_runtime_minutes "
                      "FROM v_kind_decade ORDER BY ALL") == [
        ("movie", 1990, "Comedy, Drama", 1, 1, 8.0, 100.0), ("movie", 1990, "Drama", 1, 1, 6.0, 120.0),
        ("movie", None, "(unknown)", 1, 0, None, None), ("series", 2000, "Comedy", 1, 1, 9.0, 45.0)]
    assert _rows(con, "SELECT title_type, decade, sum(titles), sum(with_tmdb), sum(without_tmdb) "
                      "FROM v_tmdb_coverage GROUP BY ALL ORDER BY ALL") == [
        # Beta has no TMDB data, Delta neither: Alfa is the one 1990s movie covered
        ("movie", 1990, 2, 1, 1), ("movie", None, 1, 0, 1), ("series", 2000, 1, 1, 0)]
    assert _rows(con, "SELECT genres, coverage FROM v_tmdb_coverage WHERE decade = 1990 ORDER BY ALL") == [
        ("Comedy, Drama", 1.0), ("Drama", 0.0)]


def test_distributions_bin_ratings_by_half_points_and_runtimes_by_15_minutes(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT rating_bin, sum(titles) FROM v_rating_distribution GROUP BY ALL ORDER BY 1") == [
        (6.0, 1), (8.0, 1), (9.0, 1)]
    assert _rows(con, "SELECT runtime_bin, sum(titles) FROM v_runtime_distribution GROUP BY ALL ORDER BY 1") == [
        (45, 1), (90, 1), (120, 1)]  # 100 min falls in 90-104, 120 in 120-134


def test_language_summary_keeps_titles_without_tmdb_under_null(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT original_language, sum(titles), sum(rated_titles) FROM v_language_summary "
                      "GROUP BY ALL ORDER BY 1 NULLS LAST") == [("en", 2, 2), (None, 2, 1)]


def test_budget_views_sum_titles_with_both_and_give_revenue_over_budget(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT * FROM v_budget_by_genre ORDER BY ALL") == [
        # genre, type, decade, votes band, titles, budget, revenue, roi
        ("Comedy", "movie", 1990, 1000, 1, 100, 300, 3.0),
        ("Comedy", "series", 2000, 1000, 1, 50, 25, 0.5),
        ("Drama", "movie", 1990, 1000, 1, 100, 300, 3.0),
    ]
    assert _rows(con, "SELECT * FROM v_budget_by_year ORDER BY ALL") == [
        # year, decade, type, genres, votes band, titles, budget, revenue, roi
        (1994, 1990, "movie", "Comedy, Drama", 1000, 1, 100, 300, 3.0),
        (2005, 2000, "series", "Comedy", 1000, 1, 50, 25, 0.5)]


def test_top_rated_needs_10k_votes(lake: Path) -> None:
    con = _duckdb_over(lake)
    assert _rows(con, "SELECT count(*) FROM v_top_rated") == [(0,)]  # the fixture's titles have < 10k votes
    con.execute("CREATE OR REPLACE TEMP TABLE v_title_facts AS SELECT * REPLACE (imdb_votes * 10 AS imdb_votes) "
                "FROM v_title_facts")
    ranked = _rows(con, duckdb_view_sql("v_top_rated") + " ORDER BY rating_rank")
    assert [(r[0], r[2], r[-1]) for r in ranked] == [(1, "Gama", 20000), (2, "Alfa", 10000)]  # Beta: 5,000


def duckdb_view_sql(name: str) -> str:
    """The SELECT of view ``name``, to run it over a changed input."""
    view = next(v for v in load_views() if v.name == name)
    return view.sql.split(" AS\n", 1)[1]


def test_artist_summary_and_cast_gender_read_every_spelling_of_gender(lake: Path) -> None:
    con = _duckdb_over(lake)
    # an artist's rows (one per genres, decade, type and votes band) sum to their figures
    assert _rows(con, "SELECT name, gender, sum(titles), sum(rated_titles), "
                      "round(sum(avg_imdb_rating * rated_titles) / sum(rated_titles), 2), sum(total_imdb_votes) "
                      "FROM v_artist_summary GROUP BY ALL ORDER BY name") == [
        ("Ana Lima", "F", 3, 2, 8.5, 3000), ("Bruno Reis", "M", 1, 1, 6.0, 500)]
    assert _rows(con, "SELECT genre, gender, sum(credits) FROM v_cast_gender GROUP BY ALL ORDER BY ALL") == [
        ("(unknown)", "female", 1), ("Comedy", "female", 2), ("Drama", "female", 1), ("Drama", "male", 1)]
    # The IMDb-derived files say actor/actress: the same shares, and an unknown value stays unknown.
    con.execute("CREATE OR REPLACE TEMP TABLE dim_artista AS SELECT * REPLACE (CASE gender WHEN 'F' THEN "
                "' Actress' WHEN 'M' THEN 'actor' END AS gender) FROM dim_artista")
    con.execute("INSERT INTO dim_artista VALUES (203, 'Caio', 'self', NULL, NULL, NULL)")
    con.execute("CREATE OR REPLACE TEMP TABLE fato_elenco AS SELECT * FROM fato_elenco UNION ALL SELECT 2, 203, NULL")
    assert _rows(con, f"SELECT genre, gender, sum(credits) FROM ({duckdb_view_sql('v_cast_gender')}) "
                      "GROUP BY ALL ORDER BY ALL") == [
        ("(unknown)", "female", 1), ("Comedy", "female", 2), ("Drama", "female", 1), ("Drama", "male", 1),
        ("Drama", "unknown", 1)]


def test_views_have_no_array_columns_quicksight_cannot_read(lake: Path) -> None:
    con = _duckdb_over(lake)
    for view in load_views():
        types = [r[1] for r in _rows(con, f"DESCRIBE {view.name}")]
        assert not [t for t in types if t.endswith("[]") or t.startswith(("STRUCT", "MAP"))], view.name
        assert "HUGEINT" not in types, view.name  # sums are cast to BIGINT, as in Athena


def test_athena_views_are_trino_sql_over_the_qualified_database() -> None:
    for view in load_views():
        sql = athena_view(view, "analytics")
        tree = sqlglot.parse_one(sql, read="athena")
        assert isinstance(tree, exp.Create) and tree.kind == "VIEW"
        assert tree.this.db == "analytics" and tree.this.name == view.name
        for table in tree.expression.find_all(exp.Table):
            if table.name in TABLES or table.name.startswith("v_"):
                assert table.db == "analytics", (view.name, table.name)
        assert "string_agg" not in sql.lower()  # DuckDB-only function translated (LISTAGG)


def test_a_view_that_no_longer_fits_the_contract_fails_to_bind() -> None:
    con = duckdb.connect()
    views = list(load_views())
    assert bind(con, views, REFINED_TABLES).status == "pass"
    broken = views[0].__class__(views[0].name, "", views[0].sql.replace("f.decade", "f.century"), views[0].reads)
    check = bind(duckdb.connect(), [broken], REFINED_TABLES)
    assert check.status == "fail" and "century" in check.observed
