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

from moviedl.checks.audit import required_columns
from moviedl.core.config import load_settings
from moviedl.core.contract import REFINED_TABLES, TRUSTED_MOVIES, TRUSTED_SERIES
from moviedl.storage import open_lake
from moviedl.storage.lake import Lake
from tests.conftest import list_lake, read_lake_object, refine_killed_at
from tests.regenerate_golden import GOLDEN, table_csv

DAY = "2024-05-01"
DAY2 = "2024-05-02"
REFINED_KEYS = [t.data_key() for t in REFINED_TABLES]
REFINED_NAMES = [t.name for t in REFINED_TABLES]
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
    # the written schema is the contract on every date: DuckDB would have declared REQUIRED
    # each column the day's data happen to fill (imdb_id, title... on both; more on one)
    written = sorted(Path(lake).rglob("*.parquet"))
    assert len([p for p in written if "Trusted" in p.parts]) == 3
    assert {p.relative_to(lake).as_posix(): required_columns(str(p)) for p in written} == {
        p.relative_to(lake).as_posix(): [] for p in written
    }


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
    assert "Example:" in result.output and "moviedl refine --date" in result.output and "--stage" in result.output


def test_refine_says_where_its_time_went(invoke, sample_lake: Path) -> None:
    """The run record and --format json carry seconds per phase; -v prints them."""
    result = invoke("refine", "--lake", sample_lake, "--force", "--format", "json")
    timings = json.loads(result.stdout)["timings"]
    assert {"typing_csv", "auditing", "publishing", "building_the_star_schema"} <= set(timings)  # JSON keys
    assert all(seconds >= 0 for seconds in timings.values()) and timings["typing_csv"] > 0
    verbose = invoke("refine", "--lake", sample_lake, "--force", "-v")
    assert "timings: typing CSV " in verbose.stdout
    assert "timings:" not in invoke("refine", "--lake", sample_lake, "--force").stdout


# --- a full disk, an engine that fails (issue 24) ------------------------------------------------


def new_date(invoke: Any, lake: Path, tmp_path: Path, movies_csv: Path) -> None:
    """Raw data for DAY2 (the samples plus a new title): refine has a partition to build."""
    header, body = sample_lines(movies_csv)
    ingest(invoke, str(lake), write_csv(tmp_path / "movies.csv", header, [*body, NEW_TITLE]), date=DAY2)


def failed(result: Any) -> str:
    """The one ``Error:`` message of a failed command, its lines joined."""
    return " ".join(result.stderr.split())


def test_a_full_disk_while_staging_a_partition_exits_3_and_publishes_nothing(
    invoke: Any, sample_lake: Path, tmp_path: Path, movies_csv: Path, disk_full: Any
) -> None:
    new_date(invoke, sample_lake, tmp_path, movies_csv)
    before = snapshot(str(sample_lake))
    disk_full(TRUSTED_MOVIES.prefix(DAY2))  # the staged partition's writes hit a full disk

    result = invoke("refine", "--lake", sample_lake)

    assert result.exit_code == 3, result.output  # the machine, not the data (was 1, or 2)
    message = failed(result)
    assert "Error: no space left on device at " in message
    assert "/_moviedl/staging/" in message and f"{TRUSTED_MOVIES.data_key(DAY2)}" in message
    assert "free space there, or point the scratch or the lake elsewhere" in message
    assert "nothing was published, the lake is as it was" in message
    assert "could not be read" not in message and "Traceback" not in result.output
    assert snapshot(str(sample_lake)) == before  # nothing published, no staging left behind

    disk_full.repair()
    code, summary = refine(invoke, str(sample_lake))
    assert code == 0, summary["problems"]
    assert rows_by_table(summary)[f"trusted_movies dt={DAY2}"][1] == 287


def test_a_full_disk_while_building_refined_names_the_table_file_and_keeps_the_lake(
    invoke: Any, sample_lake: Path, disk_full: Any
) -> None:
    before = snapshot(str(sample_lake))
    disk_full("Refined/FatoFilme/")

    result = invoke("refine", "--lake", sample_lake, "--force", "--format", "json")

    assert result.exit_code == 3
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == 3 and len(summary["problems"]) == 1
    problem = summary["problems"][0]
    assert problem.startswith("no space left on device at ") and "Refined/FatoFilme/data.parquet" in problem
    assert "nothing was published, the lake is as it was" in problem  # Trusted: rebuilt, identical
    assert "Trusted zone" not in problem  # it was never a failure to read Trusted
    assert snapshot(str(sample_lake)) == before
    validated = invoke("validate", "--lake", sample_lake, "--format", "json")
    assert validated.exit_code == 0, validated.stdout


def test_a_full_disk_while_publishing_says_how_far_publishing_got(
    invoke: Any, sample_lake: Path, tmp_path: Path, movies_csv: Path, disk_full: Any
) -> None:
    new_date(invoke, sample_lake, tmp_path, movies_csv)
    disk_full("_moviedl/state/fingerprints.json")  # written through the lake once a stage is published

    result = invoke("refine", "--lake", sample_lake)

    assert result.exit_code == 3, result.output
    message = failed(result)
    assert f"no space left on device at {sample_lake}/_moviedl/state/fingerprints.json" in message
    assert "publishing the Trusted stage stopped part-way: every published file is whole" in message
    assert not list((sample_lake / "_moviedl").glob("staging/*/*"))
    disk_full.repair()
    code, summary = refine(invoke, str(sample_lake))
    assert code == 0, summary["problems"]
    assert invoke("validate", "--lake", sample_lake).exit_code == 0


def break_table(monkeypatch: pytest.MonkeyPatch, folder: str) -> None:
    """DuckDB fails for real (a conversion error) when refine writes a table of ``folder``."""
    from moviedl.engines.duck import DuckDBEngine

    write = DuckDBEngine.write_parquet

    def failing(engine, select, path, params=None, *, metadata=None):  # noqa: ANN001, ANN202
        if f"/{folder}/" in Path(path).as_posix():
            engine.rows("SELECT CAST('a disk controller on fire' AS INTEGER)")
        return write(engine, select, path, params, metadata=metadata)

    monkeypatch.setattr(DuckDBEngine, "write_parquet", failing)


@pytest.mark.parametrize(
    ("table", "stage"), [("fato_filme", "Refined"), (f"trusted_series dt={DAY}", "Trusted")]
)
def test_an_engine_failure_names_engine_stage_and_table_and_keeps_its_cause(
    invoke: Any, sample_lake: Path, monkeypatch: pytest.MonkeyPatch, table: str, stage: str
) -> None:
    before = snapshot(str(sample_lake))
    break_table(monkeypatch, "Refined/FatoFilme" if stage == "Refined" else TRUSTED_SERIES.folder)

    result = invoke("refine", "--lake", sample_lake, "--force", "-vv")

    assert result.exit_code == 3, result.output  # the engine failing, not the data (was 1)
    message = failed(result)
    assert f"Error: the DuckDB engine failed building {table} ({stage} stage): Conversion Error:" in message
    assert "a disk controller on fire" in message
    assert f"Nothing of the {stage} stage was published" in message
    assert "Trusted zone" not in message and "validate --zone trusted" not in message
    # -vv: the debug log carries the engine's whole error, its traceback included
    assert "the engine said:" in result.stderr and "ConversionException" in result.stderr
    assert snapshot(str(sample_lake)) == before


def test_the_engine_error_is_the_cause_of_the_refine_error(sample_lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    from moviedl.core.errors import EngineError, ExitCode
    from moviedl.stages.refine.refine import RefineOptions
    from moviedl.stages.refine.refine import refine as run_refine

    break_table(monkeypatch, "Refined/DimGenero")
    settings = load_settings({"lake": str(sample_lake)})
    with pytest.raises(EngineError) as raised:
        run_refine(settings, open_lake(settings), RefineOptions(force=True))
    assert raised.value.exit_code == ExitCode.SERVICE
    assert raised.value.message.startswith("the DuckDB engine failed building dim_genero (Refined stage)")
    assert isinstance(raised.value.__cause__, duckdb.ConversionException)


def test_an_unreadable_trusted_file_is_still_a_data_failure_naming_it(invoke: Any, sample_lake: Path) -> None:
    damaged = sample_lake / TRUSTED_SERIES.data_key(DAY)
    damaged.write_bytes(damaged.read_bytes()[:100])  # cut short: not Parquet any more

    result = invoke("refine", "--lake", sample_lake, "--stage", "refined", "--force")

    assert result.exit_code == 1, result.output
    message = failed(result)
    assert f"Error: the Trusted zone of {sample_lake} could not be read by DuckDB:" in message
    assert "validate --zone trusted" in message and "Nothing of the Refined stage was published" in message


# --- refine --force says what it did ----------------------------------------------------------------


def test_force_rebuilds_every_table_and_says_which_came_out_identical(invoke: Any, sample_lake: Path) -> None:
    published = snapshot(str(sample_lake), prefix="Refined/") | snapshot(str(sample_lake), prefix="Trusted/")

    code, summary = refine(invoke, str(sample_lake), "--force")

    assert code == 0, summary["problems"]
    assert {r["table"]: r["status"] for r in summary["rows"]} == dict.fromkeys(SAMPLE_ROWS, "rebuilt, identical")
    assert rows_by_table(summary) == SAMPLE_ROWS  # rebuilt and audited: the counts of this build
    counts = summary["counts"]
    assert (counts["published"], counts["unchanged"], counts["rebuilt_identical"]) == (0, 0, 7)
    assert not [n for n in summary["notes"] if n.startswith("inputs unchanged")]  # nothing skipped
    assert snapshot(str(sample_lake), prefix="Refined/") | snapshot(str(sample_lake), prefix="Trusted/") == published
    assert not (sample_lake / "_moviedl" / "versions").exists()  # identical bytes are not versioned

    # a table whose published bytes differ (rewritten by another tool) is published again
    genres = sample_lake / "Refined/DimGenero/data.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_parquet('{genres}')) TO '{genres}.tmp' (FORMAT parquet, COMPRESSION snappy)"
    )
    Path(f"{genres}.tmp").replace(genres)
    code, summary = refine(invoke, str(sample_lake), "--force")
    statuses = {r["table"]: r["status"] for r in summary["rows"]}
    assert statuses.pop("dim_genero") == "published"
    assert set(statuses.values()) == {"rebuilt, identical"}
    assert (summary["counts"]["published"], summary["counts"]["rebuilt_identical"]) == (1, 6)

    text = invoke("refine", "--lake", sample_lake, "--force")
    assert text.exit_code == 0 and "rebuilt, identical" in text.stdout and "rebuilt identical 7" in text.stdout
    without_force = refine(invoke, str(sample_lake))[1]  # skipped: still "unchanged"
    assert {r["status"] for r in without_force["rows"]} == {"unchanged"}


# --- refine --dry-run (the library side: moviedl.stages.refine.plan) -----------------------------


def every_file(lake: Path) -> dict[str, tuple[bytes, int]]:
    """Every file and folder of a local lake, with its bytes and modification time."""
    return {
        p.relative_to(lake).as_posix(): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns)
        for p in sorted(lake.rglob("*"))
    }


def planned(lake: Path, stage: str = "all", force: bool = False, date: str | None = None) -> dict[str, Any]:
    from moviedl.stages.refine.plan import refine_plan
    from moviedl.stages.refine.refine import RefineOptions

    settings = load_settings({"lake": str(lake), "date": date})
    return refine_plan(settings, open_lake(settings), RefineOptions.parse(stage, settings, force)).to_dict()


def actions(summary: dict[str, Any]) -> dict[str, str]:
    return {row["table"]: row["action"] for row in summary["rows"]}


def skipped_by(summary: dict[str, Any]) -> set[str]:
    notes = [n for n in summary["notes"] if n.startswith("inputs unchanged since the last publish")]
    return set(notes[0].split("skipped: ", 1)[1].split(" (refine --force", 1)[0].split(", ")) if notes else set()


def test_dry_run_writes_nothing_and_plans_what_refine_then_does(
    invoke: Any, sample_lake: Path, tmp_path: Path, movies_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    new_date(invoke, sample_lake, tmp_path, movies_csv)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where a scratch folder would go
    before = every_file(sample_lake)

    plan = planned(sample_lake)

    assert every_file(sample_lake) == before  # byte for byte: no lock, no run record, no staging
    assert list(scratch.iterdir()) == []
    assert plan["date"] == DAY2 and plan["exit_code"] == 0
    new = f"trusted_movies dt={DAY2}"
    assert actions(plan) == {new: "would build", **dict.fromkeys(REFINED_NAMES, "would build")}
    row = plan["rows"][0]
    raw = f"Raw/Local/CSV/Movies/{DAY2.replace('-', '/')}/movies.csv"
    assert row["reads"] == raw and row["rows_in"] == 288
    assert row["bytes"] == (sample_lake / raw).stat().st_size
    assert row["publishes_to"] == f"{sample_lake}/{TRUSTED_MOVIES.data_key(DAY2)}"
    assert plan["counts"] == {"tables": 6, "would_build": 6, "unchanged": 0}

    code, done = refine(invoke, str(sample_lake))
    assert code == 0, done["problems"]
    assert done["date"] == plan["date"]
    assert [r["table"] for r in done["rows"]] == list(actions(plan))
    assert skipped_by(done) == {t for t, a in actions(plan).items() if a == "unchanged"}
    assert rows_by_table(done)[new][0] == row["rows_in"]

    again = planned(sample_lake)  # nothing new: every table skipped, as refine then does
    assert set(actions(again).values()) == {"unchanged"}
    assert list(actions(again)) == [new, *REFINED_NAMES]
    code, done = refine(invoke, str(sample_lake))
    assert skipped_by(done) == set(actions(again))

    forced = planned(sample_lake, force=True, date=DAY)
    assert set(actions(forced).values()) == {"would build"}
    assert list(actions(forced)) == [f"trusted_movies dt={DAY}", f"trusted_series dt={DAY}", *REFINED_NAMES]
    only_refined = planned(sample_lake, stage="refined", force=True)
    assert list(actions(only_refined)) == REFINED_NAMES and only_refined["date"] is None
    assert only_refined["rows"][0]["reads"].startswith("3 Trusted partition(s), ")  # both dates


def test_dry_run_stops_where_refine_would_and_creates_no_lake(tmp_path: Path) -> None:
    from moviedl.core.errors import UsageError

    with pytest.raises(UsageError, match="holds no CSV or TMDB files"):
        planned(tmp_path / "lake")
    assert not (tmp_path / "lake").exists()
