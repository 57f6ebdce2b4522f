"""``moviedl validate``: a good lake passes; each check fails on a lake broken on purpose.

One good lake (the samples, TMDB answers from the fake TMDB server, refined) is built once per
module and copied for each test, which then breaks it the way real lakes break.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pytest

from moviedl.checks.values import freshness, tmdb_coverage
from moviedl.core.config import load_settings
from moviedl.core.contract import (
    DIM_FILMES,
    DIM_GENERO,
    FATO_FILME,
    TRUSTED_MOVIES,
    TRUSTED_SERIES,
    TRUSTED_TMDB_MOVIES,
)
from moviedl.core.summary import Status
from moviedl.engines.duck import DuckDBEngine
from moviedl.stages.validate.validate import ValidateOptions, validate
from moviedl.storage import open_lake
from moviedl.storage.manifest import RawManifest
from tests.conftest import no_settings, run_commands
from tests.fake_tmdb import API_KEY, FakeTmdb

DAY = "2024-05-01"
MOVIES_RAW = "Raw/Local/CSV/Movies/2024/05/01/movies.csv"
SERIES_RAW = "Raw/Local/CSV/Series/2024/05/01/series.csv"
TMDB_MOVIES_DIR = "Raw/TMDB/JSON/Movies/2024/05/01"
TMDB_SERIES_DIR = "Raw/TMDB/JSON/Series/2024/05/01"
T_MOVIES = f"trusted_movies dt={DAY}"
SUMMARY_KEYS = {"command", "lake", "date", "ok", "exit_code", "counts", "rows", "checks", "problems", "notes"}
ROW_KEYS = {"zone", "dataset", "files", "rows", "bytes", "checks", "status"}
CHECK_KEYS = {"name", "target", "observed", "status", "expected", "samples"}
COUNT_KEYS = {"datasets", "checks", "passed", "warnings", "failed"}


# --- the good lake -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The samples ingested, enriched from the fake TMDB (series as TV) and refined."""
    samples = Path(str(resources.files("moviedl") / "samples"))
    root = tmp_path_factory.mktemp("validate-good")
    lake = root / "lake"
    series_ids = {line.split("|", 1)[0] for line in (samples / "series.csv").read_text().splitlines()[1:]}
    with no_settings() as mp, FakeTmdb() as fake:
        mp.chdir(root)
        mp.setenv("MOVIEDL_TMDB_BASE_URL", fake.url)
        mp.setenv("TMDB_API_KEY", API_KEY)
        fake.tv_ids.update(series_ids)
        (root / "moviedl.toml").write_text("[tmdb]\nrequests_per_second = 1000\n")
        run_commands(
            lake,
            ["ingest-csv", str(samples / "movies.csv"), str(samples / "series.csv"), "--date", DAY],
            ["ingest-tmdb", "--date", DAY],
            ["refine"],
        )
    yield lake


@pytest.fixture
def lake(good_lake: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "lake"
    shutil.copytree(good_lake, copy)
    return copy


def run(invoke: Any, lake: Path | str, *args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("validate", "--lake", lake, "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def checks(summary: dict[str, Any], name: str, target: str | None = None) -> list[dict[str, str]]:
    return [c for c in summary["checks"] if c["name"] == name and (target is None or c["target"] == target)]


def check(summary: dict[str, Any], name: str, target: str) -> dict[str, str]:
    found = checks(summary, name, target)
    assert len(found) == 1, (name, target, summary["checks"])
    return found[0]


def not_passing(summary: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["name"], c["target"]) for c in summary["checks"] if c["status"] != "pass"}


def forge(path: Path, select: str, params: dict[str, Any] | None = None, *,
          con: duckdb.DuckDBPyConnection | None = None, meta: dict[str, str] | None = None) -> None:
    """Write ``select`` as the Parquet file ``path`` with ``meta`` as key-value metadata, every
    column optional as the contract has them (the tests forging a file test other checks)."""
    con = con or duckdb.connect()
    tmp = path.with_name("forged.tmp")
    DuckDBEngine(con).write_parquet(select, tmp, params, metadata=meta)
    os.replace(tmp, path)


def rewrite(path: Path, select: str) -> None:
    """Replace the Parquet file ``path`` by ``select`` over its rows (table ``t``), keeping its
    key-value metadata (the row accounting refine wrote)."""
    con = duckdb.connect()
    meta = DuckDBEngine(con).parquet_metadata(str(path))
    con.execute("CREATE TABLE t AS SELECT * FROM read_parquet($p, hive_partitioning = false)", {"p": str(path)})
    forge(path, select, con=con, meta=meta)


def data(lake: Path, table: Any, day: str | None = DAY) -> Path:
    return lake / table.data_key(day if table.partitioned else None)


# --- a good lake passes -------------------------------------------------------------------------


def test_good_lake_passes_every_check(invoke, lake: Path) -> None:
    code, summary = run(invoke, lake)
    assert code == 0
    assert set(summary) == SUMMARY_KEYS and summary["ok"] is True and summary["date"] == DAY
    # only freshness warns: the sample lake is dated 2024
    assert not_passing(summary) == {("freshness", "lake")}
    names = {c["name"] for c in summary["checks"]}
    assert names >= {
        "present", "csv format", "checksum", "row count", "file size", "json parses",
        "records per file", "one kind per file", "imdb id once", "readable", "not empty", "schema",
        "rows reconcile", "not null", "primary key", "unique", "foreign key", "parent covered",
        "columns carry data", "value ranges", "imdb id format", "fact covers trusted",
        "tmdb coverage", "freshness",
    }
    zones = {row["dataset"]: row["zone"] for row in summary["rows"]}
    assert zones[MOVIES_RAW] == "raw" and zones[T_MOVIES] == "trusted"
    assert zones["fato_filme"] == "refined" and zones[f"trusted_tmdb_movies dt={DAY}"] == "trusted"
    assert check(summary, "rows reconcile", T_MOVIES)["observed"].startswith("Raw manifest rows 287 = out 286")
    tmdb = check(summary, "rows reconcile", f"trusted_tmdb_series dt={DAY}")["observed"]
    assert tmdb.startswith("Raw records")


def test_json_document_is_stable(invoke, lake: Path) -> None:
    _code, summary = run(invoke, lake)
    assert set(summary["counts"]) == COUNT_KEYS
    assert summary["counts"]["checks"] == len(summary["checks"])
    assert all(set(row) == ROW_KEYS for row in summary["rows"])
    assert all(set(c) == CHECK_KEYS and c["status"] in ("pass", "warn", "fail") for c in summary["checks"])
    datasets = {row["dataset"] for row in summary["rows"]}
    assert {c["target"] for c in summary["checks"]} <= datasets  # every check names its row
    assert sum(row["checks"] for row in summary["rows"]) == len(summary["checks"])


def test_text_output_names_the_failing_file(invoke, lake: Path) -> None:
    (data(lake, TRUSTED_MOVIES)).unlink()
    result = invoke("validate", "--lake", lake)
    assert result.exit_code == 1
    # the target may wrap between its two words when the observed path is long (never mid-word)
    assert "trusted_movies" in result.stdout and "dt=2024-05-01" in result.stdout
    assert "no Parquet files" in result.stdout
    assert "FAILED (exit 1)" in result.stdout and "Traceback" not in result.output


def test_same_checks_as_refine(invoke, lake: Path) -> None:
    """refine's pre-publish audit and validate share one implementation: same check names."""
    # --force: nothing changed, so refine would skip every table; forced, it rebuilds and re-audits
    refined = json.loads(invoke("refine", "--lake", lake, "--force", "--format", "json").stdout)
    _code, summary = run(invoke, lake)
    for target in (T_MOVIES, "fato_filme", "dim_filmes"):
        ours = {c["name"] for c in summary["checks"] if c["target"] == target}
        theirs = {c["name"] for c in refined["checks"] if c["target"] == target}
        if target == "fato_filme":  # refine reconciles a fact with the rows it wrote: no Raw figure
            theirs.discard("rows reconcile")
        assert theirs and theirs <= ours, target


# --- exit codes, zones and dates ---------------------------------------------------------------


def test_zone_selects_what_is_checked(invoke, lake: Path) -> None:
    code, summary = run(invoke, lake, "--zone", "raw")
    assert code == 0 and {row["zone"] for row in summary["rows"]} == {"raw"}
    code, summary = run(invoke, lake, "--zone", "refined")
    assert code == 0 and {row["zone"] for row in summary["rows"]} == {"refined"}
    assert summary["date"] is None  # Refined is checked whole, not by date


def test_warnings_fail_only_with_strict(invoke, lake: Path) -> None:
    assert run(invoke, lake, "--zone", "refined")[0] == 0  # freshness warns
    code, summary = run(invoke, lake, "--zone", "refined", "--strict")
    assert code == 1 and summary["ok"] is False
    assert any("--strict" in p for p in summary["problems"])


def test_bad_zone_exits_2(invoke, lake: Path) -> None:
    result = invoke("validate", "--lake", lake, "--zone", "gold")
    assert result.exit_code == 2 and "--zone must be raw, trusted, refined or all" in result.stderr


def test_date_without_data_exits_2(invoke, lake: Path) -> None:
    result = invoke("validate", "--lake", lake, "--date", "2023-01-01")
    assert result.exit_code == 2 and "no Raw or Trusted data for 2023-01-01" in result.stderr


def test_empty_lake_exits_2(invoke, tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    result = invoke("validate", "--lake", tmp_path / "nothing")
    assert result.exit_code == 2 and "holds no Raw or Trusted data" in result.stderr


def test_missing_bucket_exits_3(invoke, aws_env: str) -> None:
    result = invoke("validate", "--lake", "s3://no-such-bucket-validate/lake")
    assert result.exit_code == 3 and "no-such-bucket-validate" in result.output
    assert "Traceback" not in result.output


# --- Raw -------------------------------------------------------------------------------------------


def test_a_csv_lost_after_ingest_fails_present(invoke, lake: Path) -> None:
    (lake / SERIES_RAW).unlink()  # its manifest says ingest-csv stored it
    code, summary = run(invoke, lake, "--zone", "raw")
    assert code == 1
    assert check(summary, "present", SERIES_RAW)["status"] == "fail"
    assert check(summary, "present", MOVIES_RAW)["status"] == "pass"


def test_a_date_of_movies_only_is_a_warning(invoke, tmp_path: Path, movies_csv: Path) -> None:
    lake = tmp_path / "movies-only"
    assert invoke("ingest-csv", movies_csv, "--lake", lake, "--date", DAY).exit_code == 0
    assert invoke("refine", "--lake", lake, "--date", DAY).exit_code == 0
    code, summary = run(invoke, lake)
    assert code == 0, summary["problems"]
    assert check(summary, "present", SERIES_RAW)["status"] == "warn"
    assert "holds movies only" in check(summary, "present", SERIES_RAW)["observed"]


def test_ragged_csv_fails_format(invoke, lake: Path) -> None:
    path = lake / MOVIES_RAW
    lines = path.read_bytes().split(b"\n")
    lines[5] = lines[5] + b"|extra"
    path.write_bytes(b"\n".join(lines))
    _code, summary = run(invoke, lake, "--zone", "raw")
    found = check(summary, "csv format", MOVIES_RAW)
    assert found["status"] == "fail" and "lines 6" in found["observed"]


def test_wrong_header_fails_format(invoke, lake: Path) -> None:
    path = lake / MOVIES_RAW
    text = path.read_bytes()
    header, rest = text.split(b"\n", 1)
    path.write_bytes(header.replace(b"|", b",") + b"\n" + rest)
    _code, summary = run(invoke, lake, "--zone", "raw")
    found = check(summary, "csv format", MOVIES_RAW)
    assert found["status"] == "fail" and "comma-delimited" in found["observed"]


def test_changed_byte_fails_checksum(invoke, lake: Path) -> None:
    path = lake / MOVIES_RAW
    content = bytearray(path.read_bytes())
    at = content.index(b"|", 200) + 1  # the first letter of some field: same size, same structure
    content[at] = ord("Z") if content[at] != ord("Z") else ord("Y")
    path.write_bytes(bytes(content))
    code, summary = run(invoke, lake, "--zone", "raw")
    assert code == 1
    found = check(summary, "checksum", MOVIES_RAW)
    assert found["status"] == "fail" and "changed after ingestion" in found["observed"]
    assert check(summary, "csv format", MOVIES_RAW)["status"] == "pass"
    assert check(summary, "row count", MOVIES_RAW)["status"] == "pass"


def test_manifest_rows_differ_fails_row_count(invoke, lake: Path) -> None:
    key = lake / RawManifest.key_for(MOVIES_RAW)
    manifest = json.loads(key.read_text())
    manifest["rows"] += 1
    key.write_text(json.dumps(manifest))
    _code, summary = run(invoke, lake, "--zone", "raw")
    found = check(summary, "row count", MOVIES_RAW)
    assert found["status"] == "fail" and found["observed"] == "287 rows, recorded 288"


def test_missing_manifest_warns(invoke, lake: Path) -> None:
    (lake / RawManifest.key_for(SERIES_RAW)).unlink()
    code, summary = run(invoke, lake, "--zone", "raw")
    assert code == 0 and check(summary, "manifest", SERIES_RAW)["status"] == "warn"
    assert run(invoke, lake, "--zone", "raw", "--strict")[0] == 1


def tmdb_files(lake: Path, folder: str) -> list[Path]:
    return sorted((lake / folder).glob("*.json"))


def tmdb_target(folder: str) -> str:
    return folder + "/"


def test_unparseable_json_fails(invoke, lake: Path) -> None:
    (lake / TMDB_MOVIES_DIR / "movies-broken-00001.json").write_text('[{"id": 1,')
    _code, summary = run(invoke, lake, "--zone", "raw")
    found = check(summary, "json parses", tmdb_target(TMDB_MOVIES_DIR))
    assert found["status"] == "fail" and "movies-broken-00001.json" in found["observed"]


def test_101_records_fail(invoke, lake: Path) -> None:
    records = [{"id": n, "imdb_id": f"tt{n:08d}", "media_type": "movie", "title": "x"} for n in range(1, 102)]
    (lake / TMDB_MOVIES_DIR / "movies-big-00001.json").write_text(json.dumps(records))
    _code, summary = run(invoke, lake, "--zone", "raw")
    found = check(summary, "records per file", tmdb_target(TMDB_MOVIES_DIR))
    assert found["status"] == "fail" and "movies-big-00001.json (101)" in found["observed"]
    assert check(summary, "imdb id once", "Raw/TMDB/JSON/*/2024/05/01/")["status"] == "pass"


def test_file_over_10_mb_fails(invoke, lake: Path) -> None:
    record = {"id": 1, "imdb_id": "tt90000001", "media_type": "movie", "overview": "x" * 10_000_100}
    (lake / TMDB_MOVIES_DIR / "movies-huge-00001.json").write_text(json.dumps([record]))
    _code, summary = run(invoke, lake, "--zone", "raw")
    found = check(summary, "file size", tmdb_target(TMDB_MOVIES_DIR))
    assert found["status"] == "fail" and "movies-huge-00001.json" in found["observed"]


def test_series_record_in_movies_folder_fails_one_kind(invoke, lake: Path) -> None:
    record = {"id": 7, "imdb_id": "tt90000007", "media_type": "tv", "name": "A series"}
    (lake / TMDB_MOVIES_DIR / "movies-mixed-00001.json").write_text(json.dumps([record]))
    _code, summary = run(invoke, lake, "--zone", "raw")
    found = check(summary, "one kind per file", tmdb_target(TMDB_MOVIES_DIR))
    assert found["status"] == "fail" and "movies-mixed-00001.json (1 tv)" in found["observed"]
    assert check(summary, "one kind per file", tmdb_target(TMDB_SERIES_DIR))["status"] == "pass"


def test_imdb_id_twice_fails(invoke, lake: Path) -> None:
    first = tmdb_files(lake, TMDB_MOVIES_DIR)[0]
    record = json.loads(first.read_text())[0]
    (lake / TMDB_MOVIES_DIR / "movies-again-00009.json").write_text(json.dumps([record]))
    code, summary = run(invoke, lake, "--zone", "raw")
    assert code == 1
    found = check(summary, "imdb id once", "Raw/TMDB/JSON/*/2024/05/01/")
    assert found["status"] == "fail" and record["imdb_id"] in found["observed"]


# --- Trusted: the classic failures ---------------------------------------------------------------


def test_zero_row_parquet_fails_not_empty(invoke, lake: Path) -> None:
    path = data(lake, TRUSTED_MOVIES)
    rewrite(path, "SELECT * FROM t LIMIT 0")
    code, summary = run(invoke, lake, "--zone", "trusted")
    assert code == 1
    found = check(summary, "not empty", T_MOVIES)
    assert found["status"] == "fail" and "zero-row file(s): dt=2024-05-01/data.parquet" in found["observed"]
    assert check(summary, "rows reconcile", T_MOVIES)["status"] == "fail"


def test_header_as_single_column_fails_schema(invoke, lake: Path) -> None:
    header = (lake / MOVIES_RAW).read_text().split("\n", 1)[0]
    forge(data(lake, TRUSTED_MOVIES), f"SELECT 'tt0000001|x' AS \"{header}\"")
    _code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "schema", T_MOVIES)
    assert found["status"] == "fail" and "wrong delimiter" in found["observed"]
    assert header[:40] in found["observed"]


def test_empty_dataset_folder_fails_readable(invoke, lake: Path) -> None:
    data(lake, TRUSTED_SERIES).unlink()  # the dt= folder stays, with no file in it
    code, summary = run(invoke, lake, "--zone", "trusted")
    assert code == 1
    found = check(summary, "readable", f"trusted_series dt={DAY}")
    assert found["status"] == "fail" and "no Parquet files in" in found["observed"]


def test_columns_shifted_fail_schema(invoke, lake: Path) -> None:
    names = [c.name for c in TRUSTED_MOVIES.columns]
    rotated = ", ".join(f'"{n}"' for n in names[1:] + names[:1])
    rewrite(data(lake, TRUSTED_MOVIES), f"SELECT {rotated} FROM t")
    _code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "schema", T_MOVIES)
    assert found["status"] == "fail"
    assert "column 1 is title, expected imdb_id (columns shifted or reordered)" in found["observed"]


def test_corrupt_parquet_fails_readable(invoke, lake: Path) -> None:
    data(lake, TRUSTED_MOVIES).write_bytes(b"PAR1 not really parquet")
    _code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "readable", T_MOVIES)
    assert found["status"] == "fail" and "data.parquet" in found["observed"]


def test_missing_partition_with_raw_fails_present(invoke, lake: Path) -> None:
    shutil.rmtree(data(lake, TRUSTED_SERIES).parent)
    _code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "present", f"trusted_series dt={DAY}")
    assert found["status"] == "fail" and "run 'moviedl refine'" in found["expected"]


# --- Trusted: rows, keys, values -----------------------------------------------------------------


def test_lost_row_fails_reconcile(invoke, lake: Path) -> None:
    rewrite(data(lake, TRUSTED_MOVIES), "SELECT * FROM t LIMIT 285")
    _code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "rows reconcile", T_MOVIES)
    assert found["status"] == "fail" and "(+1 unaccounted)" in found["observed"]


def test_file_without_row_accounting_warns(invoke, lake: Path) -> None:
    path = data(lake, TRUSTED_MOVIES)
    forge(path, "SELECT * FROM read_parquet($p, hive_partitioning = false)", {"p": str(path)})  # no key-value metadata
    code, summary = run(invoke, lake, "--zone", "trusted")
    assert code == 0
    assert check(summary, "rows reconcile", T_MOVIES)["status"] == "warn"


def test_null_key_fails_not_null(invoke, lake: Path) -> None:
    rewrite(data(lake, TRUSTED_MOVIES),
            "SELECT * REPLACE (CASE WHEN artist_name = (SELECT min(artist_name) FROM t) THEN NULL "
            "ELSE imdb_id END AS imdb_id) FROM t")
    _code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "not null", T_MOVIES)
    assert found["status"] == "fail" and "imdb_id:" in found["observed"]


def test_all_null_column_warns(invoke, lake: Path) -> None:
    rewrite(data(lake, TRUSTED_MOVIES), "SELECT * REPLACE (CAST(NULL AS VARCHAR) AS title) FROM t")
    code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "columns carry data", T_MOVIES)
    assert code == 0 and found["status"] == "warn" and found["observed"] == "NULL on all 286 rows: title"


def test_out_of_range_values_fail_with_counts(invoke, lake: Path) -> None:
    rewrite(data(lake, TRUSTED_MOVIES),
            "SELECT * REPLACE (CASE WHEN imdb_id IN (SELECT DISTINCT imdb_id FROM t ORDER BY 1 LIMIT 2) "
            "THEN 11.5 ELSE imdb_rating END AS imdb_rating, "
            "CASE WHEN birth_year IS NOT NULL AND death_year IS NULL THEN 1200 ELSE birth_year END "
            "AS birth_year) FROM t")
    con = duckdb.connect()
    expected = con.execute(
        "SELECT count(*) FILTER (WHERE imdb_rating > 10), count(*) FILTER (WHERE birth_year = 1200) "
        "FROM read_parquet($p)", {"p": str(data(lake, TRUSTED_MOVIES))}).fetchone()
    _code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "value ranges", T_MOVIES)
    assert found["status"] == "fail"
    assert f"imdb_rating outside 0–10: {expected[0]} rows" in found["observed"]
    assert f"birth_year outside 1800–now+10: {expected[1]} rows" in found["observed"]


def test_end_year_before_start_fails(invoke, lake: Path) -> None:
    rewrite(data(lake, TRUSTED_SERIES), "SELECT * REPLACE (release_year - 1 AS end_year) FROM t")
    _code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "value ranges", f"trusted_series dt={DAY}")
    assert found["status"] == "fail" and "end_year < release_year" in found["observed"]


def test_malformed_imdb_id_fails(invoke, lake: Path) -> None:
    rewrite(data(lake, TRUSTED_MOVIES),
            "SELECT * REPLACE (replace(imdb_id, 'tt', 'nm') AS imdb_id) FROM t")
    _code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "imdb id format", T_MOVIES)
    assert found["status"] == "fail" and "286 malformed id(s), e.g. 'nm" in found["observed"]


def test_duplicate_tmdb_row_fails_primary_key(invoke, lake: Path) -> None:
    rewrite(data(lake, TRUSTED_TMDB_MOVIES), "SELECT * FROM t UNION ALL (SELECT * FROM t LIMIT 1)")
    _code, summary = run(invoke, lake, "--zone", "trusted")
    found = check(summary, "primary key", f"trusted_tmdb_movies dt={DAY}")
    assert found["status"] == "fail" and "1 duplicate rows over 1 key(s)" in found["observed"]


# --- Refined ---------------------------------------------------------------------------------------


def test_fact_row_without_dimension_fails_foreign_key(invoke, lake: Path) -> None:
    rewrite(data(lake, FATO_FILME), "SELECT * FROM t UNION ALL "
            "(SELECT * REPLACE (CAST(99999999 AS BIGINT) AS film_id) FROM t LIMIT 1)")
    code, summary = run(invoke, lake, "--zone", "refined")
    assert code == 1
    found = [c for c in checks(summary, "foreign key", "fato_filme") if "dim_filmes" in c["expected"]]
    assert found[0]["status"] == "fail" and "1 row(s) with no dim_filmes row, e.g. 99999999" in found[0]["observed"]


def test_duplicate_key_fails_primary_key(invoke, lake: Path) -> None:
    rewrite(data(lake, DIM_GENERO), "SELECT * FROM t UNION ALL "
            "(SELECT * REPLACE ('Zzz' AS genre) FROM t LIMIT 1)")
    _code, summary = run(invoke, lake, "--zone", "refined")
    assert check(summary, "primary key", "dim_genero")["status"] == "fail"


def test_null_key_in_fact_fails_not_null(invoke, lake: Path) -> None:
    rewrite(data(lake, FATO_FILME), "SELECT * FROM t UNION ALL "
            "(SELECT * REPLACE (CAST(NULL AS BIGINT) AS genre_id) FROM t LIMIT 1)")
    _code, summary = run(invoke, lake, "--zone", "refined")
    found = check(summary, "not null", "fato_filme")
    assert found["status"] == "fail" and "genre_id: 1 NULL" in found["observed"]


def test_duplicate_imdb_id_fails_unique(invoke, lake: Path) -> None:
    rewrite(data(lake, DIM_FILMES), "SELECT * FROM t UNION ALL "
            "(SELECT * REPLACE (film_id + 50000000 AS film_id) FROM t LIMIT 1)")
    _code, summary = run(invoke, lake, "--zone", "refined")
    assert check(summary, "unique", "dim_filmes")["status"] == "fail"


def test_unused_genre_fails_parent_covered(invoke, lake: Path) -> None:
    rewrite(data(lake, DIM_GENERO), "SELECT * FROM t UNION ALL "
            "(SELECT CAST(1 AS BIGINT) AS genre_id, 'Nobody watches this' AS genre)")
    _code, summary = run(invoke, lake, "--zone", "refined")
    found = [c for c in checks(summary, "parent covered", "fato_filme") if "dim_genero" in c["expected"]]
    assert found[0]["status"] == "fail" and "1 dim_genero row(s) missing" in found[0]["observed"]


def test_missing_pair_fails_fact_covers_trusted(invoke, lake: Path) -> None:
    # drop one genre row of a title that has several: every key still resolves and is covered
    rewrite(data(lake, FATO_FILME),
            "SELECT * FROM t WHERE (film_id, genre_id) <> (SELECT (film_id, max(genre_id)) FROM t "
            "GROUP BY film_id HAVING count(*) > 1 ORDER BY film_id LIMIT 1)")
    code, summary = run(invoke, lake, "--zone", "refined")
    assert code == 1
    assert not_passing(summary) == {("fact covers trusted", "fato_filme"), ("freshness", "lake")}
    assert "1 of 251 pairs missing" in check(summary, "fact covers trusted", "fato_filme")["observed"]


def test_low_tmdb_coverage_warns(invoke, lake: Path) -> None:
    rewrite(data(lake, DIM_FILMES),
            "SELECT * REPLACE (CASE WHEN film_id % 4 = 0 THEN tmdb_id END AS tmdb_id) FROM t")
    code, summary = run(invoke, lake, "--zone", "refined")
    found = check(summary, "tmdb coverage", "dim_filmes")
    assert code == 0 and found["status"] == "warn" and found["expected"] == "≥ 50% of titles enriched"
    Path("moviedl.toml").write_text("[validate]\nmin_tmdb_coverage = 0.1\n")
    _code, summary = run(invoke, lake, "--zone", "refined")
    assert check(summary, "tmdb coverage", "dim_filmes")["status"] == "pass"


def test_empty_refined_folder_fails_and_facts_name_it(invoke, lake: Path) -> None:
    data(lake, DIM_FILMES).unlink()
    _code, summary = run(invoke, lake, "--zone", "refined")
    assert check(summary, "readable", "dim_filmes")["status"] == "fail"
    unavailable = [c for c in checks(summary, "foreign key", "fato_filme") if "dim_filmes is not available" in c["observed"]]
    assert unavailable and unavailable[0]["status"] == "fail"


def test_freshness_uses_the_latest_partition(lake: Path) -> None:
    settings = load_settings({"lake": str(lake)})
    store = open_lake(settings)
    fresh = validate(settings, store, ValidateOptions.parse("refined")).checks
    assert [c.status for c in fresh if c.name == "freshness"] == [Status.WARN]
    options = ValidateOptions(ValidateOptions.parse("refined").zone, today=dt.date(2024, 5, 3))
    summary = validate(settings, store, options)
    found = [c for c in summary.checks if c.name == "freshness"]
    assert found[0].status is Status.PASS and found[0].observed == "latest dt=2024-05-01, 2 day(s) old"


def test_coverage_and_freshness_functions() -> None:
    assert tmdb_coverage("t", 5, 10, 0.5).status is Status.PASS
    assert tmdb_coverage("t", 4, 10, 0.5).status is Status.WARN
    assert tmdb_coverage("t", 0, 0, 0.5).status is Status.WARN
    today = dt.date(2024, 5, 10)
    assert freshness("lake", dt.date(2024, 5, 3), today, 7).status is Status.PASS
    assert freshness("lake", dt.date(2024, 5, 2), today, 7).status is Status.WARN
    assert freshness("lake", None, today, 7).status is Status.WARN


# --- S3 ----------------------------------------------------------------------------------------------


def test_s3_lake_good_then_broken(invoke, s3, bucket: str, movies_csv: Path, series_csv: Path,
                                  tmp_path: Path) -> None:
    uri = f"s3://{bucket}/lake"
    for args in (["ingest-csv", movies_csv, series_csv, "--date", DAY], ["refine"]):
        result = invoke(*args, "--lake", uri, "-q")
        assert result.exit_code == 0, result.output
    code, summary = run(invoke, uri)
    assert code == 0, summary["problems"]
    assert check(summary, "checksum", MOVIES_RAW)["status"] == "pass"
    assert check(summary, "rows reconcile", T_MOVIES)["status"] == "pass"
    # a zero-row file over the published one, written by "another tool"
    empty = tmp_path / "empty.parquet"
    local = tmp_path / "orig.parquet"
    s3.download_file(bucket, f"lake/{TRUSTED_MOVIES.data_key(DAY)}", str(local))
    duckdb.connect().execute("COPY (SELECT * FROM read_parquet($p) LIMIT 0) TO $o (FORMAT parquet)",
                             {"p": str(local), "o": str(empty)})
    s3.upload_file(str(empty), bucket, f"lake/{TRUSTED_MOVIES.data_key(DAY)}")
    code, summary = run(invoke, uri, "--zone", "trusted")
    assert code == 1 and check(summary, "not empty", T_MOVIES)["status"] == "fail"


def test_text_output_counts_passing_checks_per_zone(invoke, lake: Path) -> None:
    # The default view counts passing checks per zone; every check (one table per zone) is the
    # verbose view, tested in tests/test_output.py.
    result = invoke("validate", "--lake", lake)
    assert result.exit_code == 0, result.output
    out = result.stdout
    zones = [line.split()[0] for line in out.splitlines() if line.split()[:1] in (["raw"], ["trusted"], ["refined"])]
    assert zones == ["raw", "trusted", "refined"]  # one row of counts per zone, in the order data flows
    assert "passed" in out and "foreign key" not in out  # passing checks are counted, not listed


# --- issue 24: damaged manifests, Refined behind Trusted, a dt in the future -----------------------

DAMAGES = {
    "garbage bytes": lambda text: b"\x00\xff\x89PNG garbage \xfe",
    "valid JSON of the wrong shape": lambda text: json.dumps([json.loads(text)]).encode(),
    "truncated JSON": lambda text: text.encode()[: len(text) // 2],
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_manifest_is_a_failed_check_naming_it(invoke, lake: Path, damage: str) -> None:
    """Damaged lake content is bad data (exit 1, a failing check), not bad usage (it was exit 2)."""
    path = lake / RawManifest.key_for(MOVIES_RAW)
    path.write_bytes(DAMAGES[damage](path.read_text("utf-8")))

    code, summary = run(invoke, lake)

    assert code == 1, summary["problems"]
    found = check(summary, "manifest", MOVIES_RAW)
    assert found["status"] == "fail" and found["observed"].startswith(f"{path} is damaged: ")
    assert {"garbage bytes": "not valid JSON", "valid JSON of the wrong shape": "a JSON array, not an object",
            "truncated JSON": "not valid JSON"}[damage] in found["observed"]
    assert any(p.startswith(f"{MOVIES_RAW}: manifest: {path} is damaged") for p in summary["problems"])
    # the partition built from it is still checked, against the rows read (its file metadata)
    assert check(summary, "rows reconcile", T_MOVIES)["status"] == "pass"
    # the Trusted zone alone names the damaged manifest too (the Raw checks that would do not run)
    code, trusted = run(invoke, lake, "--zone", "trusted")
    assert code == 1 and check(trusted, "manifest", T_MOVIES)["status"] == "fail"


def test_a_manifest_with_wrong_field_types_is_damaged_not_a_crash(invoke, lake: Path) -> None:
    path = lake / RawManifest.key_for(SERIES_RAW)
    path.write_text(json.dumps({**json.loads(path.read_text()), "rows": "128", "size": None}))
    code, summary = run(invoke, lake, "--zone", "raw")
    assert code == 1
    observed = check(summary, "manifest", SERIES_RAW)["observed"]
    assert "size is None, not a byte count" in observed and "rows is '128', not a row count" in observed


def new_date(invoke, lake: Path, tmp_path: Path) -> None:
    """Raw movies for 2024-05-02 with one more title: refine publishes a partition and a new star."""
    samples = Path(str(resources.files("moviedl") / "samples"))
    more = tmp_path / "movies.csv"
    more.write_text(
        (samples / "movies.csv").read_text("utf-8")
        + "tt9999999|Novo|New|2025|100|Noir|7.0|10|F|Ana|Ana Nova|1990|\\N|actress|tt9999999\n", "utf-8",
    )
    result = invoke("ingest-csv", more, "--lake", lake, "--date", "2024-05-02", "--quiet")
    assert result.exit_code == 0, result.output


def test_refined_older_than_trusted_after_an_interrupted_refine_is_named_first(
    invoke, lake: Path, tmp_path: Path
) -> None:
    from tests.conftest import refine_killed_at

    new_date(invoke, lake, tmp_path)
    refine_killed_at("archived:dim_filmes", "--lake", str(lake))  # Trusted published, Refined not

    code, summary = run(invoke, lake)

    assert code == 1
    behind = check(summary, "refined up to date", "lake")
    assert behind["status"] == "fail"
    assert behind["observed"].startswith("Refined is older than Trusted: it was built before "
                                         "trusted_movies dt=2024-05-02 (new)")
    assert "run 'moviedl refine'" in behind["observed"] and "interrupted" in behind["observed"]
    assert summary["problems"][0].startswith("lake: refined up to date: Refined is older than Trusted")
    # the failures it causes say so
    for name, target in (("rows reconcile", "dim_filmes"), ("fact covers trusted", "fato_filme")):
        found = check(summary, name, target)
        assert found["status"] == "fail" and found["observed"].endswith(
            "; Refined is older than Trusted (see 'refined up to date')")
    assert {c["name"] for c in summary["checks"] if c["status"] == "fail"} == {
        "refined up to date", "rows reconcile", "fact covers trusted"}

    assert invoke("refine", "--lake", lake, "--quiet").exit_code == 0
    code, summary = run(invoke, lake)
    assert code == 0, summary["problems"]
    assert not checks(summary, "refined up to date")


def test_refined_older_than_trusted_after_a_refined_stage_that_failed(
    invoke, lake: Path, tmp_path: Path, disk_full
) -> None:
    new_date(invoke, lake, tmp_path)
    disk_full("Refined/DimArtista/")
    refined = invoke("refine", "--lake", lake)
    assert refined.exit_code == 3 and "the Trusted stage was published, nothing more" in " ".join(
        refined.stderr.split())
    disk_full.repair()

    code, summary = run(invoke, lake, "--zone", "refined")
    assert code == 1 and summary["problems"][0].startswith("lake: refined up to date: ")
    assert invoke("refine", "--lake", lake, "--quiet").exit_code == 0  # what the check says to run
    assert run(invoke, lake)[0] == 0


def test_a_latest_dt_in_the_future_is_said_so_never_a_negative_age(
    invoke, tmp_path: Path, movies_csv: Path
) -> None:
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    lake = tmp_path / "lake"
    assert invoke("ingest-csv", movies_csv, "--lake", lake, "--date", tomorrow, "--quiet").exit_code == 0
    result = invoke("refine", "--lake", lake, "--format", "json")
    assert result.exit_code == 0, result.output
    refined = check(json.loads(result.stdout), "freshness", "lake")

    code, summary = run(invoke, lake, "--date", tomorrow)

    found = check(summary, "freshness", "lake")
    assert code == 0 and found["status"] == "pass"  # a date --date accepts (a time zone ahead of UTC)
    assert found["observed"] == f"latest dt={tomorrow} is in the future (1 day(s) after today, " \
                                f"{dt.datetime.now(dt.UTC).date().isoformat()} UTC)"
    assert "-1 day" not in found["observed"] and refined["observed"] == found["observed"]


def test_freshness_in_the_future_functions(lake: Path) -> None:
    from moviedl.stages.refine.lake_checks import freshness as lake_freshness

    today = dt.date(2024, 5, 10)
    ahead = lake_freshness("lake", dt.date(2024, 5, 13), 7, today)
    assert ahead.status is Status.WARN and ahead.observed.startswith("latest dt=2024-05-13 is in the future (3 day(s)")
    assert lake_freshness("lake", dt.date(2024, 5, 11), 7, today).status is Status.PASS
    assert lake_freshness("lake", dt.date(2024, 5, 3), 7, today) == freshness("lake", dt.date(2024, 5, 3), today, 7)
    # validate measures against its own today (ValidateOptions.today, else today UTC)
    settings = load_settings({"lake": str(lake)})
    options = ValidateOptions(ValidateOptions.parse("refined").zone, today=dt.date(2024, 4, 28))
    found = [c for c in validate(settings, open_lake(settings), options).checks if c.name == "freshness"]
    assert found[0].status is Status.WARN
    assert found[0].observed == "latest dt=2024-05-01 is in the future (3 day(s) after today, 2024-04-28 UTC)"
