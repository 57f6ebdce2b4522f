"""``moviedl refine`` end to end: the samples in, audited tables out, on a local folder and on S3.

Helpers at the top are shared by test_trusted.py and test_star_schema.py.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from moviedl.core.config import load_settings
from moviedl.core.contract import REFINED_TABLES, TRUSTED_MOVIES, TRUSTED_SERIES
from moviedl.storage import open_lake
from moviedl.storage.lake import Lake
from tests.conftest import list_lake, read_lake_object, refine_killed_at
from tests.regenerate_golden import GOLDEN, table_csv

DAY = "2024-05-01"
DAY2 = "2024-05-02"
REFINED_KEYS = [t.data_key() for t in REFINED_TABLES]
# A movies.csv row with a new title, a new genre and a new artist: every Refined table changes.
NEW_TITLE = "tt9999999|Novo|New|2025|100|Noir|7.0|10|F|Ana|Ana Nova|1990|\\N|actress|tt9999999"
SAMPLE_ROWS = {
    f"trusted_movies dt={DAY}": (287, 286, 1, 0),
    f"trusted_series dt={DAY}": (128, 127, 1, 0),
    "dim_filmes": (99, 99, None, None),
    "dim_genero": (19, 19, None, None),
    "dim_artista": (365, 365, None, None),
    "fato_filme": (251, 251, None, None),
    "fato_elenco": (410, 410, None, None),
}


# --- helpers shared by the refine test modules ---------------------------------------------


def lake_of(lake_uri: str) -> Lake:
    return open_lake(load_settings({"lake": lake_uri}))


def ingest(invoke: Any, lake_uri: str, *files: Path, date: str = DAY) -> None:
    result = invoke("ingest-csv", *files, "--lake", lake_uri, "--date", date, "--quiet")
    assert result.exit_code == 0, result.output


def refine(invoke: Any, lake_uri: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("refine", "--lake", lake_uri, "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def rows_by_table(summary: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        r["table"]: (r["rows_in"], r["rows_out"], r["duplicates"], r["quarantined"])
        for r in summary["rows"]
    }


def query(
    lake_uri: str, key: str, sql: str = "SELECT * FROM t", s3: Any = None
) -> list[tuple[Any, ...]]:
    """Run ``sql`` on the Parquet object ``key`` (as table ``t``), read without moviedl's code."""
    data = read_lake_object(lake_uri, key, s3)
    assert data is not None, f"{key} is not in the lake"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.parquet"
        path.write_bytes(data)
        con = duckdb.connect()
        con.sql("SELECT * FROM read_parquet($p)", params={"p": str(path)}).create_view("t")
        return con.execute(sql).fetchall()


def snapshot(lake_uri: str, s3: Any = None, prefix: str = "") -> dict[str, bytes]:
    """Every object under ``prefix`` with its bytes (but the run records and the lock, which
    every command writes)."""
    return {
        key: read_lake_object(lake_uri, key, s3) or b""
        for key in list_lake(lake_uri, s3, prefix)
        if not key.startswith(("_moviedl/runs/", "_moviedl/lock"))
    }


def sample_lines(path: Path) -> tuple[str, list[str]]:
    header, *body = path.read_text("utf-8").splitlines()
    return header, body


def write_csv(path: Path, header: str, body: list[str]) -> Path:
    path.write_text("\n".join([header, *body]) + "\n", "utf-8")
    return path


# --- the samples ------------------------------------------------------------------------------


def test_refine_publishes_every_table_once_audited(
    lake_uri: str, s3: Any, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    ingest(invoke, lake_uri, movies_csv, series_csv)
    code, summary = refine(invoke, lake_uri)

    assert code == 0, summary["problems"]
    assert rows_by_table(summary) == SAMPLE_ROWS
    assert {r["status"] for r in summary["rows"]} == {"published"}
    assert summary["checks"] and not [c for c in summary["checks"] if c["status"] == "fail"]
    # the only warnings: no TMDB data at all, and a sample date older than validate.max_age_days
    warned = {c["name"] for c in summary["checks"] if c["status"] == "warn"}
    assert warned == {"tmdb coverage", "freshness"}
    names = {c["name"] for c in summary["checks"]}
    assert {  # every check validate runs on these zones
        "readable",
        "not empty",
        "schema",
        "rows reconcile",
        "primary key",
        "foreign key",
        "parent covered",
        "value ranges",
        "accepted values",
        "imdb id format",
        "columns carry data",
        "quarantine",
        "fact covers trusted",
    } <= names
    assert summary["counts"]["rows_out"] == 286 + 127 + 99 + 19 + 365 + 251 + 410
    assert any("no TMDB data" in note for note in summary["notes"])

    published = [k for k in list_lake(lake_uri, s3) if k.startswith(("Trusted/", "Refined/"))]
    assert published == sorted(
        [
            *REFINED_KEYS,
            TRUSTED_MOVIES.data_key(DAY),
            TRUSTED_SERIES.data_key(DAY),
        ]
    )
    assert not [k for k in list_lake(lake_uri, s3, "_moviedl/") if "/staging/" in k or "/tmp/" in k]
    assert query(lake_uri, "Refined/DimFilmes/data.parquet", "SELECT count(*) FROM t", s3) == [
        (99,)
    ]


@pytest.mark.parametrize("table", REFINED_TABLES, ids=lambda t: t.name)
def test_refined_tables_match_the_hand_checked_golden_files(
    table: Any, tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = tmp_path / "lake"
    ingest(invoke, str(lake), movies_csv, series_csv)
    assert refine(invoke, str(lake))[0] == 0
    assert table_csv(lake / table.data_key(), table) == (GOLDEN / f"{table.name}.csv").read_text(
        "utf-8"
    )


def test_a_second_run_changes_nothing(
    lake_uri: str, s3: Any, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    ingest(invoke, lake_uri, movies_csv, series_csv)
    assert refine(invoke, lake_uri)[0] == 0
    before = snapshot(lake_uri, s3)

    code, summary = refine(invoke, lake_uri)

    assert code == 0
    assert {r["status"] for r in summary["rows"]} == {"unchanged"}
    assert snapshot(lake_uri, s3) == before
    assert not [k for k in before if k.startswith("_moviedl/versions/")]


def test_keys_and_bytes_do_not_depend_on_input_row_order(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    shuffled = []
    for source in (movies_csv, series_csv):
        header, body = sample_lines(source)
        random.Random(4).shuffle(body)
        shuffled.append(write_csv(tmp_path / source.name, header, body))
    ordered_lake, shuffled_lake = str(tmp_path / "a"), str(tmp_path / "b")
    ingest(invoke, ordered_lake, movies_csv, series_csv)
    ingest(invoke, shuffled_lake, *shuffled)
    assert refine(invoke, ordered_lake)[0] == 0
    assert refine(invoke, shuffled_lake)[0] == 0

    for key in REFINED_KEYS:
        assert read_lake_object(ordered_lake, key) == read_lake_object(shuffled_lake, key), key


# --- audits guard what is published -----------------------------------------------------------


def test_a_failed_audit_publishes_nothing_and_keeps_the_previous_version(
    lake_uri: str,
    s3: Any,
    invoke: Any,
    movies_csv: Path,
    series_csv: Path,
    tmp_path: Path,
    broken_writer: Any,
) -> None:
    ingest(invoke, lake_uri, movies_csv, series_csv)
    assert refine(invoke, lake_uri)[0] == 0
    refined_before = snapshot(lake_uri, s3, "Refined/")
    header, body = sample_lines(movies_csv)
    ingest(invoke, lake_uri, write_csv(tmp_path / "movies.csv", header, body[:-20]), date=DAY2)

    broken_writer("fato_filme")  # the writer "loses" the fact rows
    result = invoke("refine", "--lake", lake_uri)

    assert result.exit_code == 1
    assert "fato_filme" in result.output and "not empty" in result.output
    assert "nothing of the Refined stage was published" in result.output
    assert snapshot(lake_uri, s3, "Refined/") == refined_before  # dimensions too: all or nothing
    assert query(lake_uri, "Refined/FatoFilme/data.parquet", "SELECT count(*) FROM t", s3) == [
        (251,)
    ]
    assert not [k for k in list_lake(lake_uri, s3, "_moviedl/") if "/staging/" in k]

    broken_writer.repair()
    code, summary = refine(invoke, lake_uri, "--stage", "refined")
    assert code == 0
    assert rows_by_table(summary)["dim_filmes"][1] == 99  # titles of the older partition stay


def test_a_failed_trusted_audit_stops_before_refined(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path, broken_writer: Any
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv, series_csv)
    broken_writer("trusted_movies")

    code, summary = refine(invoke, lake)

    assert code == 1
    assert summary["ok"] is False
    failed = [c for c in summary["checks"] if c["status"] == "fail"]
    assert {(c["name"], c["target"]) for c in failed} == {
        ("not empty", f"trusted_movies dt={DAY}"),
        ("rows reconcile", f"trusted_movies dt={DAY}"),
    }
    assert {r["table"] for r in summary["rows"]} == {
        f"trusted_movies dt={DAY}",
        f"trusted_series dt={DAY}",
    }
    assert [k for k in list_lake(lake) if k.startswith(("Trusted/", "Refined/"))] == []


# --- incremental dates ------------------------------------------------------------------------


def test_a_new_date_adds_a_partition_and_each_title_takes_its_latest_snapshot(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv, series_csv)
    assert refine(invoke, lake)[0] == 0
    header, body = sample_lines(movies_csv)
    day2 = [
        line.replace("|8.2|138452|", "|9.9|150000|")
        for line in body
        if not line.startswith("tt0017136|")
    ]
    day2.append(NEW_TITLE)
    ingest(invoke, lake, write_csv(tmp_path / "movies.csv", header, day2), date=DAY2)

    code, summary = refine(invoke, lake)  # no --date: the latest date, and any date not refined yet

    assert code == 0, summary["problems"]
    assert summary["date"] == DAY2
    assert [r["table"] for r in summary["rows"]][:1] == [f"trusted_movies dt={DAY2}"]
    assert sorted(k for k in list_lake(lake, prefix="Trusted/Local/Parquet/Movies/")) == [
        TRUSTED_MOVIES.data_key(DAY),
        TRUSTED_MOVIES.data_key(DAY2),
    ]
    films = dict(query(lake, "Refined/DimFilmes/data.parquet", "SELECT imdb_id, title FROM t"))
    assert len(films) == 100
    assert films["tt0017136"] == "Metrópolis"  # only in the older snapshot: kept
    assert films["tt9999999"] == "Novo"
    assert query(
        lake,
        "Refined/FatoFilme/data.parquet",
        "SELECT DISTINCT imdb_rating, imdb_votes FROM t WHERE film_id = 12349",
    ) == [(9.9, 150000)]

    again = refine(invoke, lake, "--date", DAY2)
    assert again[0] == 0 and {r["status"] for r in again[1]["rows"]} == {"unchanged"}


# --- crash consistency --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crash_at", "switched"),
    [
        ("staged", set()),
        ("archived:dim_artista", {"DimFilmes", "DimGenero"}),
        ("switched:dim_artista", {"DimFilmes", "DimGenero", "DimArtista"}),
    ],
)
def test_kill_9_while_publishing_then_rerun_gives_a_consistent_lake(
    crash_at: str,
    switched: set[str],
    tmp_path: Path,
    invoke: Any,
    movies_csv: Path,
    series_csv: Path,
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv, series_csv)
    assert refine(invoke, lake)[0] == 0
    old = snapshot(lake, prefix="Refined/")
    header, body = sample_lines(movies_csv)
    ingest(invoke, lake, write_csv(tmp_path / "movies.csv", header, [*body, NEW_TITLE]), date=DAY2)

    refine_killed_at(crash_at, "--lake", lake)

    # Every published table is readable and is exactly its old or its new version, never both.
    published = [k for k in list_lake(lake) if k.startswith("Refined/")]
    assert published == sorted(REFINED_KEYS)
    for key in published:
        assert query(lake, key, "SELECT count(*) > 0 FROM t") == [(True,)]
    assert {k.split("/")[1] for k in published if read_lake_object(lake, k) != old[k]} == switched

    code, summary = refine(invoke, lake)
    assert code == 0, summary["problems"]
    clean = str(tmp_path / "clean")
    ingest(invoke, clean, movies_csv, series_csv)
    ingest(invoke, clean, tmp_path / "movies.csv", date=DAY2)
    assert refine(invoke, clean)[0] == 0
    final = snapshot(lake, prefix="Refined/")
    assert final == snapshot(clean, prefix="Refined/")
    assert snapshot(lake, prefix="Trusted/") == snapshot(clean, prefix="Trusted/")
    assert all(final[key] != old[key] for key in REFINED_KEYS)


# --- usage ------------------------------------------------------------------------------------


def test_refine_on_an_empty_lake_says_to_ingest_first(tmp_path: Path, invoke: Any) -> None:
    result = invoke("refine", "--lake", tmp_path / "lake")
    assert result.exit_code == 2
    assert "holds no CSV or TMDB files" in result.output and "ingest-csv" in result.output


def test_refine_for_a_date_without_raw_data_lists_the_dates(
    tmp_path: Path, invoke: Any, movies_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv)
    result = invoke("refine", "--lake", lake, "--date", "2024-06-01")
    assert result.exit_code == 2
    assert "no Raw data for 2024-06-01" in result.output and DAY in result.output


def test_refine_rejects_an_unknown_stage(tmp_path: Path, invoke: Any) -> None:
    result = invoke("refine", "--lake", tmp_path / "lake", "--stage", "gold")
    assert result.exit_code == 2
    assert "--stage must be trusted, refined or all" in result.output


def test_stages_can_run_separately(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv, series_csv)
    result = invoke("refine", "--lake", lake, "--stage", "refined")
    assert result.exit_code == 2 and "Trusted zone" in result.output and "is empty" in result.output

    code, summary = refine(invoke, lake, "--stage", "trusted")
    assert code == 0 and [r["table"] for r in summary["rows"]] == list(SAMPLE_ROWS)[:2]
    assert not list_lake(lake, prefix="Refined/")
    code, summary = refine(invoke, lake, "--stage", "refined")
    assert code == 0 and [r["table"] for r in summary["rows"]] == list(SAMPLE_ROWS)[2:]
    assert summary["date"] is None


def test_text_output_lists_every_table(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv, series_csv)
    result = invoke("refine", "--lake", lake)
    assert result.exit_code == 0, result.output
    for table in SAMPLE_ROWS:
        assert table in result.output
    assert re.search(r"checks passed (\d+)/\1\b", result.output) is None  # two warnings
    assert "checks failed 0" in result.output


def test_refine_help_has_an_example(invoke: Any) -> None:
    result = invoke("refine", "--help")
    assert result.exit_code == 0
    assert "Example: moviedl refine" in result.output and "--stage" in result.output


def test_refine_says_where_its_time_went(invoke, sample_lake: Path) -> None:
    """The run record and --format json carry seconds per phase; -v prints them."""
    result = invoke("refine", "--lake", sample_lake, "--force", "--format", "json")
    timings = json.loads(result.stdout)["timings"]
    assert {"typing CSV", "auditing", "publishing", "building the star schema"} <= set(timings)
    assert all(seconds >= 0 for seconds in timings.values()) and timings["typing CSV"] > 0
    verbose = invoke("refine", "--lake", sample_lake, "--force", "-v")
    assert "timings: typing CSV " in verbose.stdout
    assert "timings:" not in invoke("refine", "--lake", sample_lake, "--force").stdout
