"""The analysis views: run for real on DuckDB over a lake's Parquet files, translated for Athena."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot
from regenerate_ddl_golden import build_lake, golden_settings
from sqlglot import exp

from moviedl.athena_ddl import DdlOptions, athena_ddl
from moviedl.contract import REFINED_TABLES, TABLES
from moviedl.lake import LocalLake
from moviedl.views import athena_view, bind, load_views


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
