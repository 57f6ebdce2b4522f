"""The audit checks (shared by refine and validate): each one passing and failing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from moviedl.checks.audit import (
    Dataset,
    Reconciliation,
    audit,
    foreign_keys,
    not_empty,
    not_null,
    primary_key,
    readable,
    reconciles,
    schema,
    unique,
)
from moviedl.core.contract import DIM_FILMES, DIM_GENERO, FATO_FILME, TRUSTED_MOVIES, Table
from moviedl.core.summary import Status
from moviedl.engines.base import ident, idents
from moviedl.engines.duck import DuckDBEngine


@pytest.fixture
def con() -> DuckDBEngine:
    return DuckDBEngine(duckdb.connect())


def make(path: Path, table: Table, rows: list[dict[str, Any]]) -> Dataset:
    """A Parquet file with the contract's columns of ``table`` holding ``rows`` (others NULL)."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE x ({', '.join(f'{ident(c.name)} {c.type}' for c in table.columns)})")
    for row in rows:
        con.execute(
            f"INSERT INTO x ({idents(list(row))}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    DuckDBEngine(con).write_parquet("SELECT * FROM x", path)  # as refine writes: every column optional
    return Dataset(table, (str(path),), location=str(path.parent))


def raw_parquet(path: Path, select: str) -> str:
    duckdb.connect().execute(f"COPY ({select}) TO $p (FORMAT parquet)", {"p": str(path)})
    return str(path)


GENRES = [{"genre_id": 1, "genre": "Drama"}, {"genre_id": 2, "genre": "Comedy"}]
FILMS = [
    {"film_id": 10, "imdb_id": "tt0000010", "title_type": "movie"},
    {"film_id": 20, "imdb_id": "tt0000020", "title_type": "series"},
]
FACTS = [
    {"film_id": 10, "genre_id": 1, "artist_count": 2},
    {"film_id": 20, "genre_id": 2, "artist_count": 1},
]


# --- readable / not empty ---------------------------------------------------------------------


def test_readable_counts_rows_per_file(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "g.parquet", DIM_GENERO, GENRES)
    check, rows = readable(con, ds)
    assert check.status is Status.PASS and check.observed == "1 file(s), 2 rows"
    assert rows == {str(tmp_path / "g.parquet"): 2}


def test_a_folder_with_no_files_is_not_readable(con: Any) -> None:
    check, rows = readable(con, Dataset(DIM_GENERO, (), location="lake/Refined/DimGenero/"))
    assert check.status is Status.FAIL and rows is None
    assert check.observed == "no Parquet files in lake/Refined/DimGenero/"


def test_a_file_that_is_not_parquet_is_not_readable(con: Any, tmp_path: Path) -> None:
    (tmp_path / "data.parquet").write_bytes(b"id|title\ntt1|x\n")
    check, rows = readable(con, Dataset(DIM_GENERO, (str(tmp_path / "data.parquet"),)))
    assert check.status is Status.FAIL and rows is None and "data.parquet" in check.observed


def test_a_parquet_file_with_zero_rows_is_caught(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "Refined/DimGenero/data.parquet", DIM_GENERO, [])
    check = not_empty(ds, readable(con, ds)[1] or {}, input_rows=99)
    assert check.status is Status.FAIL
    assert check.observed == "0 rows from 99 input rows; zero-row file(s): DimGenero/data.parquet"


def test_an_empty_output_is_fine_when_its_input_was_empty(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "g.parquet", DIM_GENERO, [])
    assert not_empty(ds, readable(con, ds)[1] or {}, input_rows=0).status is Status.PASS
    full = make(tmp_path / "h.parquet", DIM_GENERO, GENRES)
    assert not_empty(full, readable(con, full)[1] or {}).status is Status.PASS


# --- schema -----------------------------------------------------------------------------------


def test_a_column_a_file_declares_required_fails_the_schema_check(con: Any, tmp_path: Path) -> None:
    """Plain DuckDB marks REQUIRED each column its statistics prove NULL-free, so the same table
    gets another schema on another date (or from Spark): the contract is every column optional."""
    ds = make(tmp_path / "ok.parquet", DIM_FILMES, FILMS)
    plain = tmp_path / "plain.parquet"
    duckdb.connect().execute("COPY (SELECT * FROM read_parquet($src)) TO $p (FORMAT parquet)",
                             {"src": ds.files[0], "p": str(plain)})
    check = schema(con, Dataset(DIM_FILMES, (str(plain),)))
    assert check.status is Status.FAIL
    assert "declared REQUIRED (not nullable) in the file: film_id, imdb_id, title_type" in check.observed
    assert "refine --force" in check.observed
    assert schema(con, ds).status is Status.PASS  # the same rows as moviedl writes them


def test_the_contract_schema_passes(con: Any, tmp_path: Path) -> None:
    assert schema(con, make(tmp_path / "f.parquet", DIM_FILMES, FILMS)).status is Status.PASS


def test_a_csv_read_with_the_wrong_delimiter_is_named(con: Any, tmp_path: Path) -> None:
    header = "|".join(c.name for c in TRUSTED_MOVIES.columns)
    path = raw_parquet(tmp_path / "m.parquet", f"SELECT 'tt1|x' AS {ident(header)}")
    check = schema(con, Dataset(TRUSTED_MOVIES, (path,)))
    assert check.status is Status.FAIL and "wrong delimiter" in check.observed


def test_columns_shifted_by_position_are_named(con: Any, tmp_path: Path) -> None:
    path = raw_parquet(
        tmp_path / "g.parquet", "SELECT 'Drama' AS genre, CAST(1 AS BIGINT) AS genre_id"
    )
    check = schema(con, Dataset(DIM_GENERO, (path,)))
    assert check.status is Status.FAIL
    assert check.observed.endswith(
        "/g.parquet: column 1 is genre, expected genre_id (columns shifted or reordered)"
    )


def test_a_wrong_type_or_a_missing_column_is_named(con: Any, tmp_path: Path) -> None:
    path = raw_parquet(tmp_path / "g.parquet", "SELECT 1 AS genre_id, 'Drama' AS genre")
    assert schema(con, Dataset(DIM_GENERO, (path,))).observed.endswith(
        "/g.parquet: genre_id is INTEGER, expected BIGINT"
    )
    path = raw_parquet(tmp_path / "h.parquet", "SELECT CAST(1 AS BIGINT) AS genre_id, 'x' AS extra")
    assert schema(con, Dataset(DIM_GENERO, (path,))).observed.endswith(
        "/h.parquet: missing genre; unexpected extra"
    )


# --- reconciliation ---------------------------------------------------------------------------


def test_rows_reconcile_when_every_input_row_is_accounted_for() -> None:
    ds = Dataset(TRUSTED_MOVIES, (), "2024-05-01")
    ok = reconciles(ds, 286, Reconciliation(287, duplicates=1, quarantined=0, what="manifest rows"))
    assert ok.status is Status.PASS
    assert ok.observed == "manifest rows 287 = out 286 + duplicates 1 + quarantined 0"
    assert ok.target == "trusted_movies dt=2024-05-01"
    bad = reconciles(ds, 0, Reconciliation(287, duplicates=1))
    assert bad.status is Status.FAIL
    assert bad.observed == "rows in 287 ≠ out 0 + duplicates 1 + quarantined 0 (+286 unaccounted)"


# --- keys -------------------------------------------------------------------------------------


def test_keys_unique_and_not_null(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "g.parquet", DIM_GENERO, GENRES)
    view = ds.register(con)
    assert [
        c.status
        for c in (not_null(con, view, ds), primary_key(con, view, ds), *unique(con, view, ds))
    ] == [
        Status.PASS,
        Status.PASS,
        Status.PASS,
    ]


def test_a_duplicated_primary_key_is_counted(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "g.parquet", DIM_GENERO, [*GENRES, {"genre_id": 1, "genre": "Drama 2"}])
    check = primary_key(con, ds.register(con), ds)
    assert check is not None and check.status is Status.FAIL
    assert check.observed == "1 duplicate rows over 1 key(s), e.g. 1, 2"
    assert check.samples == ("1, 2",)  # the key, and how many rows hold it


def test_a_second_unique_column_set_is_checked(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "g.parquet", DIM_GENERO, [*GENRES, {"genre_id": 3, "genre": "Drama"}])
    [check] = unique(con, ds.register(con), ds)
    assert (
        check.status is Status.FAIL
        and check.expected == "(genre) unique"
        and "Drama" in check.observed
    )


def test_a_null_key_is_counted(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "g.parquet", DIM_GENERO, [*GENRES, {"genre": "Horror"}])
    check = not_null(con, ds.register(con), ds)
    assert (
        check is not None and check.status is Status.FAIL and check.observed == "genre_id: 1 NULL"
    )


# --- foreign keys -----------------------------------------------------------------------------


def parents(tmp_path: Path) -> dict[str, Dataset]:
    return {
        "dim_filmes": make(tmp_path / "f.parquet", DIM_FILMES, FILMS),
        "dim_genero": make(tmp_path / "g.parquet", DIM_GENERO, GENRES),
    }


def test_foreign_keys_resolve_and_cover_their_parents(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "ff.parquet", FATO_FILME, FACTS)
    checks = foreign_keys(con, ds.register(con), ds, parents(tmp_path))
    assert [(c.name, c.status) for c in checks] == [
        ("foreign key", Status.PASS),
        ("parent covered", Status.PASS),
        ("foreign key", Status.PASS),
        ("parent covered", Status.PASS),
    ]


def test_a_fact_row_whose_film_has_no_dimension_row_is_caught(con: Any, tmp_path: Path) -> None:
    ds = make(
        tmp_path / "ff.parquet",
        FATO_FILME,
        [*FACTS, {"film_id": 99, "genre_id": 1, "artist_count": 0}],
    )
    film_fk = foreign_keys(con, ds.register(con), ds, parents(tmp_path))[0]
    assert film_fk.status is Status.FAIL
    assert film_fk.observed == "1 row(s) with no dim_filmes row, e.g. 99"
    assert film_fk.samples == ("99",)
    assert film_fk.expected == "fato_filme.(film_id) → dim_filmes.(film_id)"


def test_a_title_missing_from_the_fact_is_caught(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "ff.parquet", FATO_FILME, FACTS[:1])
    checks = foreign_keys(con, ds.register(con), ds, parents(tmp_path))
    covered = [c for c in checks if c.name == "parent covered"]
    assert [c.status for c in covered] == [Status.FAIL, Status.FAIL]
    assert covered[0].observed == "1 dim_filmes row(s) missing from fato_filme"


def test_a_missing_parent_fails_the_foreign_key(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "ff.parquet", FATO_FILME, FACTS)
    checks = foreign_keys(con, ds.register(con), ds, {})
    assert {(c.status, c.observed) for c in checks} == {
        (Status.FAIL, "dim_filmes is not available"),
        (Status.FAIL, "dim_genero is not available"),
    }


# --- audit: all of it, in order ---------------------------------------------------------------


def test_audit_runs_every_check_in_order(con: Any, tmp_path: Path) -> None:
    ds = make(tmp_path / "ff.parquet", FATO_FILME, FACTS)
    result = audit(
        con, ds, input_rows=2, reconciliation=Reconciliation(2), parents=parents(tmp_path)
    )
    assert result.passed and result.rows == 2
    assert [c.name for c in result.checks] == [
        "readable",
        "not empty",
        "schema",
        "rows reconcile",
        "not null",
        "primary key",
        "foreign key",
        "parent covered",
        "foreign key",
        "parent covered",
    ]


def test_audit_stops_at_a_broken_schema(con: Any, tmp_path: Path) -> None:
    path = raw_parquet(tmp_path / "g.parquet", "SELECT 'Drama' AS genre")
    result = audit(con, Dataset(DIM_GENERO, (path,)), input_rows=1)
    assert not result.passed
    assert [(c.name, c.status) for c in result.checks] == [
        ("readable", Status.PASS),
        ("not empty", Status.PASS),
        ("schema", Status.FAIL),
    ]
    assert [c.name for c in result.failures] == ["schema"]


# --- checks.severity knows every check by name ------------------------------------------------


def documented_check_names() -> set[str]:
    """The check names docs/validate.md's tables list under "The checks"."""
    import re

    text = (Path(__file__).parent.parent / "docs" / "validate.md").read_text("utf-8")
    section = text.split("## The checks", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in first_cells for name in re.findall(r"`([^`]+)`", cell)}


def test_the_check_names_severity_accepts_are_the_documented_checks() -> None:
    from moviedl.core.config import CHECK_NAMES

    assert len(set(CHECK_NAMES)) == len(CHECK_NAMES)
    assert set(CHECK_NAMES) == documented_check_names()


def test_every_check_refine_and_validate_report_has_a_known_name(
    invoke: Any, sample_lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check added without its name in CHECK_NAMES could not be given a severity: refused as
    unknown. refine and validate on a real lake report only known names."""
    import json

    from moviedl.core.config import CHECK_NAMES

    names = set()
    for command in (["refine", "--force"], ["validate"]):
        result = invoke(*command, "--lake", sample_lake, "--format", "json")
        assert result.exit_code == 0, result.output
        names |= {c["name"] for c in json.loads(result.stdout)["checks"]}
    assert len(names) > 15 and names <= set(CHECK_NAMES), names - set(CHECK_NAMES)
    # and each of them can be given a severity
    monkeypatch.setenv("MOVIEDL_CHECKS_SEVERITY", ",".join(f"{name}=warn" for name in sorted(names)))
    assert invoke("config", "show").exit_code == 0


# --- the quarantine check: its defaults and its wording -------------------------------------

BAD_YEAR = "tt9999999|Ruim|Bad|19x5|90|Drama|7.0|100|actor|X|Someone|1950|\\N|actor|tt9999999"


def quarantine_check(invoke: Any, tmp_path: Path, rows: list[str], name: str) -> tuple[int, dict[str, Any]]:
    """Ingest a movies.csv of ``rows`` into a new lake and refine its Trusted zone: the exit
    code and the quarantine check of trusted_movies."""
    import json

    from moviedl.core.sources import MOVIES

    source = tmp_path / name / "movies.csv"
    source.parent.mkdir()
    source.write_text("\n".join([MOVIES.header, *rows]) + "\n", "utf-8")
    lake = tmp_path / name / "lake"
    assert invoke("ingest-csv", source, "--lake", lake, "--date", "2024-05-01", "--quiet").exit_code == 0
    result = invoke("refine", "--stage", "trusted", "--lake", lake, "--format", "json")
    [check] = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "quarantine"]
    return result.exit_code, check


def test_one_quarantined_row_in_a_big_file_does_not_warn_by_default(
    invoke: Any, tmp_path: Path, movies_csv: Path
) -> None:
    sample = movies_csv.read_text("utf-8").splitlines()[1:]  # 287 rows
    code, check = quarantine_check(invoke, tmp_path, [*sample, BAD_YEAR], "big")
    assert code == 0
    assert (check["status"], check["observed"]) == ("pass", "1 of 288 rows (0.3%)")
    assert check["expected"] == "at most 1% of input rows quarantined (warns above 1%, fails above 10%)"


def test_quarantine_warns_above_1_percent_and_fails_above_10(
    invoke: Any, tmp_path: Path, movies_csv: Path
) -> None:
    sample = movies_csv.read_text("utf-8").splitlines()[1:21]
    code, check = quarantine_check(invoke, tmp_path, [*sample, BAD_YEAR], "warn")
    assert code == 0 and (check["status"], check["observed"]) == ("warn", "1 of 21 rows (4.8%)")
    bad = [BAD_YEAR.replace("tt9999999", f"tt999999{n}") for n in range(3)]
    code, check = quarantine_check(invoke, tmp_path, [*sample[:18], *bad], "fail")
    assert code == 1 and (check["status"], check["observed"]) == ("fail", "3 of 21 rows (14.3%)")
    assert "fails above 10%" in check["expected"] and "≤" not in check["expected"]


def test_the_quarantine_thresholds_read_plainly_whatever_they_are(invoke: Any, tmp_path: Path, movies_csv: Path) -> None:
    Path("moviedl.toml").write_text("[checks]\nquarantine_warn_share = 0\nquarantine_fail_share = 0.125\n", "utf-8")
    sample = movies_csv.read_text("utf-8").splitlines()[1:21]
    code, check = quarantine_check(invoke, tmp_path, [*sample, BAD_YEAR], "strict")
    assert code == 0 and check["status"] == "warn"
    assert check["expected"] == "no input row quarantined (any quarantined row warns, fails above 12.5%)"
