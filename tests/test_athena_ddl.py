"""``moviedl athena-ddl`` from the command line: where the DDL goes, options, lakes on disk and on S3."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import sqlglot
from regenerate_ddl_golden import build_lake


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return build_lake(tmp_path / "lake")


def _flat(text: str) -> str:
    """Messages as one line (rich wraps long ones at the console width)."""
    return " ".join(text.split())


def test_stdout_holds_only_the_ddl_and_the_summary_goes_to_stderr(invoke, lake: Path) -> None:
    result = invoke("athena-ddl", "--lake", lake, "--location", "s3://my-bucket/lake")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("-- moviedl athena-ddl")
    statements = [s for s in sqlglot.parse(result.stdout, read="athena") if s is not None]
    assert len(statements) == 30
    assert "OK" in result.stderr and "tables 9" in result.stderr and "views 16" in result.stderr


def test_output_file_gets_the_ddl_and_stdout_the_summary(invoke, lake: Path, tmp_path: Path) -> None:
    target = tmp_path / "ddl.sql"
    result = invoke("athena-ddl", "--lake", lake, "--location", "s3://my-bucket/lake", "--output", target)
    assert result.exit_code == 0, result.output
    text = target.read_text("utf-8")
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`fato_elenco`" in text
    assert "CREATE" not in result.stdout and f"written to {target}" in result.stdout


def test_json_format_carries_the_statements_instead_of_raw_sql(invoke, lake: Path) -> None:
    result = invoke("athena-ddl", "--lake", lake, "--location", "s3://my-bucket/lake", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # the whole of stdout is one JSON object
    rows = {r["object"]: r for r in summary["rows"]}
    assert rows["moviedl"]["statement"] == "CREATE DATABASE IF NOT EXISTS `moviedl`"
    assert rows["moviedl.trusted_movies"]["projection"].startswith("ALTER TABLE `moviedl`.`trusted_movies`")
    assert rows["moviedl.v_genre_summary"]["kind"] == "view"
    assert summary["ok"] is True and summary["counts"]["statements"] == 30


def test_database_flag_and_config_name_the_database(invoke, lake: Path, clean_env: Path) -> None:
    result = invoke("athena-ddl", "--lake", lake, "--location", "s3://b/l", "--database", "analytics")
    assert "CREATE DATABASE IF NOT EXISTS `analytics`" in result.stdout
    assert 'FROM "analytics"."fato_filme"' in result.stdout
    (clean_env / "moviedl.toml").write_text('[athena]\ndatabase = "from_file"\n')
    assert "`from_file`.`dim_filmes`" in invoke("athena-ddl", "--lake", lake, "--location", "s3://b/l").stdout
    bad = invoke("athena-ddl", "--lake", lake, "--location", "s3://b/l", "--database", "My-DB")
    assert bad.exit_code == 2 and "not a valid Athena database name" in _flat(bad.stderr)


def test_local_lake_needs_an_s3_location_for_athena(invoke, lake: Path) -> None:
    result = invoke("athena-ddl", "--lake", lake)
    assert result.exit_code == 2
    assert "--location s3://" in _flat(result.stderr) and "--dialect duckdb" in _flat(result.stderr)
    assert result.stdout == ""
    wrong = invoke("athena-ddl", "--lake", lake, "--location", "/mnt/lake")
    assert wrong.exit_code == 2 and "s3://bucket/prefix" in _flat(wrong.stderr)


@pytest.mark.parametrize("args, message", [
    (("--policy", "--execute"), "--policy prints IAM policies only"),
    (("--dialect", "duckdb", "--glue"), "use them with --dialect athena"),
    (("--dialect", "spark"), "use athena or duckdb"),
])
def test_options_that_do_not_fit_together_exit_2(invoke, lake: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke("athena-ddl", "--lake", lake, "--location", "s3://b/l", *args)
    assert result.exit_code == 2 and message in _flat(result.stderr)


def test_duckdb_dialect_output_runs_in_duckdb_as_printed(invoke, lake: Path) -> None:
    result = invoke("athena-ddl", "--lake", lake, "--dialect", "duckdb")
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    for statement in sqlglot.parse(result.stdout, read="duckdb"):  # split as DuckDB's CLI would
        if statement is not None:
            con.execute(statement.sql("duckdb"))
    assert con.execute("SELECT count(*) FROM v_title_facts").fetchone() == (4,)
    # and the printed text itself, in one go, as 'duckdb -c ".read ddl.sql"' runs it
    con2 = duckdb.connect()
    con2.execute(result.stdout)
    assert con2.execute("SELECT genre FROM v_genre_summary ORDER BY titles DESC, genre LIMIT 1").fetchone() == ("Comedy",)


def test_a_contract_mismatch_prints_no_ddl_and_exits_1(invoke, lake: Path) -> None:
    path = lake / "Refined" / "DimGenero" / "data.parquet"
    duckdb.connect().execute(f"COPY (SELECT genre_id, genre, 1 AS extra FROM read_parquet('{path}')) "
                             f"TO '{path}.new' (FORMAT parquet)")
    Path(f"{path}.new").replace(path)
    result = invoke("athena-ddl", "--lake", lake, "--location", "s3://b/l")
    assert result.exit_code == 1
    assert result.stdout == ""  # nothing a script could pipe into Athena
    assert "dim_genero: schema" in _flat(result.stderr) and "unexpected extra" in _flat(result.stderr)


def test_s3_lake_ddl_points_at_the_lake_and_reads_schemas_from_s3(invoke, lake: Path, s3, bucket: str) -> None:
    for path in lake.rglob("*.parquet"):
        s3.upload_file(str(path), bucket, f"data/lake/{path.relative_to(lake).as_posix()}")
    result = invoke("athena-ddl", "--lake", f"s3://{bucket}/data/lake", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    rows = {r["object"]: r for r in summary["rows"]}
    assert rows["moviedl.dim_filmes"]["location"] == f"s3://{bucket}/data/lake/Refined/DimFilmes/"
    assert f"LOCATION 's3://{bucket}/data/lake/Trusted/Local/Parquet/Movies/'" in rows["moviedl.trusted_movies"]["statement"]
    assert summary["counts"]["files_checked"] == 10 and summary["counts"]["partitions"] == 5

    duck = invoke("athena-ddl", "--lake", f"s3://{bucket}/data/lake", "--dialect", "duckdb")
    assert f"read_parquet('s3://{bucket}/data/lake/Refined/DimFilmes/**/*.parquet'" in duck.stdout
    assert "httpfs" in duck.stderr


def test_s3_lake_that_does_not_exist_exits_3(invoke, aws_env: str) -> None:
    result = invoke("athena-ddl", "--lake", "s3://no-such-bucket-moviedl/lake")
    assert result.exit_code == 3 and "no-such-bucket-moviedl" in result.stderr
