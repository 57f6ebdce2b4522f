"""Table definitions from the data: golden DDL, sqlglot parsing, and the checks on what the lake holds."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import sqlglot
from regenerate_ddl_golden import (
    GOLDEN,
    LOCATION,
    build_lake,
    golden_settings,
    render,
    write_parquet,
)
from sqlglot import exp

from moviedl.core.contract import REFINED_TABLES, TABLES, TRUSTED_TABLES, athena_type
from moviedl.core.summary import Status
from moviedl.stages.catalog.athena_ddl import DdlOptions, athena_ddl
from moviedl.stages.catalog.ddl import inspect_tables, parquet_schema
from moviedl.storage.lake import ObjectInfo, RangeFile
from moviedl.storage.local import LocalLake
from moviedl.storage.s3 import S3Lake


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return build_lake(tmp_path / "lake")


def _ddl(lake: Path, **options):
    options.setdefault("location", LOCATION)
    return athena_ddl(golden_settings(lake), LocalLake(lake), DdlOptions(**options))


# --- golden files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["athena.sql", "duckdb.sql", "policies.json"])
def test_output_matches_the_reviewed_golden_file(lake: Path, name: str) -> None:
    rendered = render(lake)[name]
    golden = (GOLDEN / name).read_text("utf-8")
    assert rendered == golden, (
        f"{name} differs from tests/golden/ddl/{name}: run 'python tests/regenerate_ddl_golden.py' "
        "and review the diff"
    )


# --- the Athena DDL -----------------------------------------------------------------------------


def test_every_athena_statement_parses_with_sqlglots_athena_dialect(lake: Path) -> None:
    result = _ddl(lake)
    kinds = []
    for statement in result.statements:
        tree = sqlglot.parse_one(statement.sql, read="athena")
        kinds.append(statement.kind)
        if statement.kind == "projection range":
            assert isinstance(tree, exp.Alter)
        else:
            assert isinstance(tree, exp.Create), statement.sql
    # the whole script too, as a user would paste it
    parsed = sqlglot.parse(result.script, read="athena")
    assert len([p for p in parsed if p is not None]) == len(result.statements)
    assert kinds.count("table") == 9 and kinds.count("view") == 16 and kinds.count("database") == 1


def test_tables_have_the_parquet_columns_with_athena_types_and_the_spec_names(lake: Path) -> None:
    result = _ddl(lake)
    tables = {}
    for statement in result.statements:
        if statement.kind != "table":
            continue
        tree = sqlglot.parse_one(statement.sql, read="athena")
        table = tree.find(exp.Table)
        assert table.db == "moviedl"
        columns = [(c.name, c.args["kind"].sql("hive").lower()) for c in tree.this.expressions]
        tables[table.name] = (columns, tree)
    assert list(tables) == [t.name for t in (*TRUSTED_TABLES, *REFINED_TABLES)]
    for name, (columns, tree) in tables.items():
        contract = TABLES[name]
        assert columns == [(c.name, athena_type(c.type)) for c in contract.columns], name
        sql = tree.sql("athena")
        assert "STORED AS PARQUET" in sql
        assert f"LOCATION '{LOCATION}/{contract.folder}/'" in sql
        assert ("PARTITIONED BY" in sql) is contract.partitioned, name
    # types a user sees in Athena
    movies = dict(tables["trusted_movies"][0])
    assert movies["genres"] == "array<string>" and movies["imdb_votes"] == "bigint"
    assert movies["release_year"] == "int" and movies["imdb_rating"] == "double"
    tmdb = dict(tables["trusted_tmdb_movies"][0])
    assert tmdb["release_date"] == "date" and tmdb["fetched_at"] == "timestamp"


def test_trusted_tables_use_partition_projection_from_the_first_ingestion_date(lake: Path) -> None:
    result = _ddl(lake)
    movies = next(s.sql for s in result.statements if s.object == "moviedl.trusted_movies" and s.kind == "table")
    assert "PARTITIONED BY (`dt` string" in movies
    for prop in ("'projection.enabled'='true'", "'projection.dt.type'='date'",
                 "'projection.dt.format'='yyyy-MM-dd'", "'projection.dt.range'='2024-05-01,NOW'",
                 f"'storage.location.template'='{LOCATION}/Trusted/Local/Parquet/Movies/dt=${{dt}}/'"):
        assert prop in movies
    assert not [s for s in result.statements if "MSCK" in s.sql or "partition_0" in s.sql]

    # a back-filled earlier date moves the range, also for an existing table (ALTER ... SET TBLPROPERTIES)
    write_parquet(duckdb.connect(), TABLES["trusted_movies"], [],
                  lake / TABLES["trusted_movies"].data_key("2023-12-31"))
    again = _ddl(lake)
    alter = next(s.sql for s in again.statements if s.object == "moviedl.trusted_movies" and s.kind == "projection range")
    assert alter == ("ALTER TABLE `moviedl`.`trusted_movies` SET TBLPROPERTIES "
                     "('projection.dt.range'='2023-12-31,NOW')")


def test_identifiers_are_lowercase_and_backquoted_in_ddl(lake: Path) -> None:
    result = _ddl(lake)
    for statement in result.statements:
        if statement.kind in ("table", "database"):
            tree = sqlglot.parse_one(statement.sql, read="athena")
            for identifier in tree.find_all(exp.Identifier):
                assert identifier.quoted and identifier.name == identifier.name.lower(), identifier


# --- checks on what the lake holds ----------------------------------------------------------------


def _inspect(lake: Path):
    con = duckdb.connect()
    return {f.table.name: f for f in inspect_tables(LocalLake(lake), (*TRUSTED_TABLES, *REFINED_TABLES), con)}


def test_a_column_with_another_type_than_the_contract_fails_and_emits_nothing(lake: Path) -> None:
    con = duckdb.connect()
    path = lake / TABLES["dim_filmes"].data_key()
    con.execute(f"COPY (SELECT * REPLACE (CAST(release_year AS BIGINT) AS release_year) "
                f"FROM read_parquet('{path}')) TO '{path}.new' (FORMAT parquet)")
    Path(f"{path}.new").replace(path)
    found = _inspect(lake)["dim_filmes"]
    schema = next(c for c in found.checks if c.name == "schema")
    assert schema.status is Status.FAIL
    assert "release_year is BIGINT, expected INTEGER" in schema.observed
    result = _ddl(lake)
    assert result.script is None and result.statements == []
    assert result.summary.exit_code == 1
    assert any("dim_filmes" in p and "release_year" in p for p in result.summary.problems)
    status = {r["object"]: r["status"] for r in result.summary.rows}
    assert status["dim_filmes"] == "failed checks" and status["dim_genero"] == "checked, not emitted"


def test_a_missing_column_in_one_partition_fails(lake: Path) -> None:
    con = duckdb.connect()
    path = lake / TABLES["trusted_movies"].data_key("2024-05-02")
    con.execute(f"COPY (SELECT * EXCLUDE (genres) FROM read_parquet('{path}')) TO '{path}.new' (FORMAT parquet)")
    Path(f"{path}.new").replace(path)
    schema = next(c for c in _inspect(lake)["trusted_movies"].checks if c.name == "schema")
    assert schema.status is Status.FAIL
    assert "dt=2024-05-02" in schema.observed and "missing genres" in schema.observed


def test_files_outside_partition_folders_fail_the_layout_check(lake: Path) -> None:
    folder = lake / TABLES["trusted_series"].folder
    shutil.copy(folder / "dt=2024-05-01" / "data.parquet", folder / "stray.parquet")
    shutil.copytree(folder / "dt=2024-05-01", folder / "dt=2024-13-01")
    layout = next(c for c in _inspect(lake)["trusted_series"].checks if c.name == "partition layout")
    assert layout.status is Status.FAIL
    assert "2 file(s) outside a partition folder" in layout.observed
    assert "stray.parquet" in layout.observed and "dt=2024-13-01" in layout.observed


def test_hidden_files_are_ignored_and_other_files_only_warn(lake: Path) -> None:
    folder = lake / TABLES["dim_genero"].folder
    (folder / "_SUCCESS").write_text("")
    (folder / "README.txt").write_text("not data")
    found = _inspect(lake)["dim_genero"]
    assert [f.key for f in found.files] == ["Refined/DimGenero/data.parquet"]
    other = next(c for c in found.checks if c.name == "only Parquet files")
    assert other.status is Status.WARN and "README.txt" in other.observed
    assert _ddl(lake).summary.exit_code == 0


def test_a_file_that_is_not_parquet_fails_the_schema_check(lake: Path) -> None:
    (lake / TABLES["fato_elenco"].data_key()).write_bytes(b"PAR1 not really")
    schema = next(c for c in _inspect(lake)["fato_elenco"].checks if c.name == "schema")
    assert schema.status is Status.FAIL and "not readable as Parquet" in schema.observed


def test_absent_tables_are_reported_and_views_need_the_refined_tables(lake: Path) -> None:
    shutil.rmtree(lake / "Trusted" / "TMDB")
    result = _ddl(lake)
    rows = {r["object"]: r for r in result.summary.rows}
    assert rows["trusted_tmdb_series"]["status"] == "absent"
    assert rows["moviedl.trusted_movies"]["status"] == "emitted"
    assert "trusted_tmdb_series" not in result.script
    assert result.summary.counts["absent"] == 2 and result.summary.exit_code == 0

    shutil.rmtree(lake / "Refined" / "FatoFilme")
    result = _ddl(lake)
    assert not [s for s in result.statements if s.kind == "view"]
    assert any("v_genre_summary skipped: needs fato_filme" in n for n in result.summary.notes)


def test_an_empty_lake_emits_only_the_database(tmp_path: Path) -> None:
    result = _ddl(tmp_path / "nothing-here")
    assert [s.kind for s in result.statements] == ["database"]
    assert result.summary.exit_code == 0
    assert any("no Trusted or Refined data" in n for n in result.summary.notes)


# --- S3: only the footer travels ------------------------------------------------------------------


def test_s3_schema_reads_fetch_only_the_parquet_footer(tmp_path: Path, s3, bucket: str, monkeypatch) -> None:
    path = tmp_path / "big.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT i AS film_id, md5(i::VARCHAR) || md5((i * 7)::VARCHAR) AS title FROM range(200000) t(i)) "
        f"TO '{path}' (FORMAT parquet, COMPRESSION uncompressed)"
    )
    s3.upload_file(str(path), bucket, "lake/big.parquet")
    fetched: list[int] = []
    original = RangeFile.readinto

    def counting(self, buffer):  # every byte that travels comes through here
        n = original(self, buffer)
        fetched.append(n)
        return n

    monkeypatch.setattr(RangeFile, "readinto", counting)
    size = path.stat().st_size
    schema = parquet_schema(S3Lake(f"s3://{bucket}/lake"), ObjectInfo("big.parquet", size), duckdb.connect())
    assert schema == [("film_id", "BIGINT"), ("title", "VARCHAR")]
    assert size > 5_000_000 and sum(fetched) < 100_000 and len(fetched) <= 3
