"""The engine seam (moviedl.engines.base): what the DuckDB engine does for refine, seen from outside.

The Trusted and Refined builders and the audit run on an :class:`~moviedl.engines.base.Engine`; these
tests drive them through :class:`~moviedl.engines.duck.DuckDBEngine` and read what it wrote with pyarrow
(not with moviedl's code).
"""

from __future__ import annotations

import _thread
import datetime as dt
import threading
import time
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from moviedl.checks.audit import Dataset, audit
from moviedl.core.config import load_settings
from moviedl.core.contract import (
    META_DUPLICATES,
    META_QUARANTINED,
    META_ROWS_READ,
    META_SOURCES,
    REFINED_TABLES,
    TRUSTED_MOVIES,
)
from moviedl.core.errors import ConfigError
from moviedl.core.sources import MOVIES
from moviedl.core.summary import Status
from moviedl.engines.base import Engine, one, scalar, sql_for
from moviedl.engines.duck import DuckDBEngine
from moviedl.stages.refine.publish import Workspace
from moviedl.stages.refine.star_schema import build_refined, drop_work_tables, register_inputs
from moviedl.stages.refine.trusted import build_csv
from moviedl.storage.local import LocalLake
from tests.conftest import SAMPLE_DATE

ROOT = Path(__file__).parent.parent


def open_engine(tmp_path: Path, **flags: str | int) -> DuckDBEngine:
    settings = load_settings({f"duckdb.{k}": v for k, v in flags.items()}, env={})
    spill = tmp_path / "spill"
    spill.mkdir(exist_ok=True)
    return DuckDBEngine.open(settings, spill)


def table_rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


# --- the connection moviedl configures ----------------------------------------------------------


def test_the_engine_opens_duckdb_with_the_settings(tmp_path: Path) -> None:
    engine = open_engine(tmp_path, memory_limit="512MB", threads=1)
    try:
        settings = dict(engine.rows(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('memory_limit', 'threads', 'TimeZone', 'temp_directory', 'preserve_insertion_order', "
            "'autoinstall_known_extensions')"
        ))
    finally:
        engine.close()
    assert settings["memory_limit"] in ("488.2 MiB", "512.0 MB")  # DuckDB shows it in its units
    assert settings["threads"] == "1"
    assert settings["TimeZone"] == "UTC"
    assert settings["temp_directory"] == str(tmp_path / "spill")
    assert settings["preserve_insertion_order"] == "true"
    assert settings["autoinstall_known_extensions"] == "false"


def test_settings_duckdb_refuses_are_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DuckDB refused its settings"):
        open_engine(tmp_path, memory_limit="lots")


def test_running_out_of_memory_names_the_setting_to_raise(tmp_path: Path) -> None:
    """refine and validate stop with this error when a query runs out of memory."""
    engine: Engine = open_engine(tmp_path, memory_limit="20MB", threads=1)
    try:
        with pytest.raises(engine.out_of_memory) as caught:
            engine.rows("SELECT len(l) FROM (SELECT list(i) AS l FROM range(20000000) t(i))")
        assert isinstance(caught.value, engine.errors)  # caught first, then the other errors
        error = engine.out_of_memory_error(caught.value, "; nothing more was published")
    finally:
        engine.close()
    assert error.message.startswith("DuckDB ran out of memory (duckdb.memory_limit = 20MB): ")
    assert error.message.endswith("; nothing more was published")
    assert "duckdb.temp_directory" in (error.hint or "")


# --- Parquet in and out -------------------------------------------------------------------------


def test_written_parquet_is_zstd_with_its_metadata_and_reads_back(tmp_path: Path) -> None:
    engine = DuckDBEngine(duckdb.connect())
    path = tmp_path / "out.parquet"
    written = engine.write_parquet(
        "SELECT i AS n, 'x' || i AS s FROM range($n) t(i)", path, {"n": 5},
        metadata={"moviedl.rows_read": "5"},
    )
    assert written == 5
    assert table_rows(path) == [{"n": i, "s": f"x{i}"} for i in range(5)]
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert engine.parquet_rows(str(path)) == 5
    assert engine.parquet_schema(str(path)) == [("n", "BIGINT"), ("s", "VARCHAR")]
    assert engine.parquet_metadata(str(path))["moviedl.rows_read"] == "5"



def test_a_write_leaves_every_column_optional_and_the_connections_own_settings_alone(tmp_path: Path) -> None:
    """NULL-free columns are still written OPTIONAL (the contract), and the optimizer switch
    that takes is undone afterwards without clearing one the connection's owner chose."""
    engine = DuckDBEngine(duckdb.connect())
    engine.execute("SET disabled_optimizers = 'join_order'")
    path = tmp_path / "out.parquet"
    engine.write_parquet("SELECT i AS n, [i] AS l FROM range(3) t(i)", path)
    schema = pq.ParquetFile(path).schema
    assert [schema.column(i).max_definition_level for i in range(len(schema))] == [1, 3]
    assert one(engine, "SELECT current_setting('disabled_optimizers')") == ("join_order",)

def test_the_broken_writer_fixture_leaves_an_empty_file_of_the_same_schema(tmp_path: Path, broken_writer) -> None:
    """What the audit tests rely on: the tables named get files that lie about their rows."""
    engine = DuckDBEngine(duckdb.connect())
    broken_writer("fato_filme")
    path = tmp_path / "Refined" / "FatoFilme" / "data.parquet"
    path.parent.mkdir(parents=True)
    written = engine.write_parquet("SELECT 1 AS a, 'b' AS b", path)
    assert written == 1  # what the writer claims...
    assert pq.read_table(path).num_rows == 0  # ...is not what the file holds: the audit catches it
    assert pq.read_schema(path).names == ["a", "b"]
    other = tmp_path / "Refined" / "DimFilmes" / "data.parquet"
    other.parent.mkdir(parents=True)
    assert engine.write_parquet("SELECT 1 AS a", other) == 1 and pq.read_table(other).num_rows == 1


def test_unreadable_parquet_raises_the_engines_error(tmp_path: Path) -> None:
    engine = DuckDBEngine(duckdb.connect())
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(engine.errors):
        engine.parquet_rows(str(bad))


def test_registered_parquet_matches_columns_by_name_and_tags_each_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(pa.table({"k": [1, 2], "v": ["a", "b"]}), first)
    pq.write_table(pa.table({"v": ["c"], "k": [3]}), second)  # the same columns, another order
    engine = DuckDBEngine(duckdb.connect())
    name = engine.register_parquet(
        "tagged", [str(first), str(second)], columns=[("k", "BIGINT"), ("v", "VARCHAR")],
        per_file={"dt": ["2024-01-01", "2024-01-02"]},
    )
    assert name == '"tagged"'
    assert sorted(engine.rows("SELECT k, v, dt FROM tagged")) == [
        (1, "a", "2024-01-01"), (2, "b", "2024-01-01"), (3, "c", "2024-01-02"),
    ]
    engine.register_parquet("plain", [str(first)])
    assert engine.rows("SELECT * FROM plain ORDER BY k") == [(1, "a"), (2, "b")]


def test_no_file_registers_an_empty_relation_of_the_columns() -> None:
    engine = DuckDBEngine(duckdb.connect())
    engine.register_parquet(
        "nothing", [], columns=TRUSTED_MOVIES.schema, per_file={"dt": []}
    )
    assert scalar(engine, "SELECT count(*) FROM nothing") == 0
    described = [(n, t) for n, t, *_ in engine.rows("DESCRIBE nothing")]
    assert described == [*TRUSTED_MOVIES.schema, ("dt", "VARCHAR")]


# --- the refine scripts ---------------------------------------------------------------------------


def test_the_engine_types_a_raw_csv_into_a_trusted_partition(sample_lake: Path, tmp_path: Path) -> None:
    lake = LocalLake(sample_lake)
    key = MOVIES.raw_key(dt.date.fromisoformat(SAMPLE_DATE))
    engine = open_engine(tmp_path)
    with Workspace(lake) as ws:
        try:
            out = build_csv(engine, ws, MOVIES, SAMPLE_DATE, key)
            staged = pq.read_table(out.path)
            published = pq.read_table(sample_lake / TRUSTED_MOVIES.data_key(SAMPLE_DATE))
            meta = {k.decode(): v.decode() for k, v in (pq.read_metadata(out.path).metadata or {}).items()}
            result = audit(engine, Dataset(TRUSTED_MOVIES, (str(out.path),), SAMPLE_DATE))
        finally:
            engine.close()
    assert staged.num_rows == out.rows_written > 0
    assert staged.schema.names == list(TRUSTED_MOVIES.column_names)
    assert staged.to_pylist() == published.to_pylist()  # what refine published for the sample
    assert meta[META_SOURCES] == key
    assert int(meta[META_ROWS_READ]) == out.rows_written + (out.duplicates or 0) + (out.quarantined or 0)
    assert int(meta[META_DUPLICATES]) == out.duplicates
    assert int(meta[META_QUARANTINED]) == out.quarantined
    assert result.passed and result.rows == out.rows_written


def test_a_trusted_partition_written_in_pieces_is_the_one_written_whole(
    sample_lake: Path, tmp_path: Path
) -> None:
    """Pieces of 7 lines, written on several connections and joined: the same rows in the same
    (file) order, the same schema and metadata as the partition refine wrote in one piece, one
    row group per piece, and no piece left behind."""
    lake = LocalLake(sample_lake)
    key = MOVIES.raw_key(dt.date.fromisoformat(SAMPLE_DATE))
    engine = open_engine(tmp_path, threads=2)
    engine.piece_rows = 7
    published_path = sample_lake / TRUSTED_MOVIES.data_key(SAMPLE_DATE)
    with Workspace(lake) as ws:
        try:
            out = build_csv(engine, ws, MOVIES, SAMPLE_DATE, key)
            staged = pq.ParquetFile(out.path)
            rows = staged.read()
            left = sorted(p.name for p in out.path.parent.iterdir())
            result = audit(engine, Dataset(TRUSTED_MOVIES, (str(out.path),), SAMPLE_DATE))
        finally:
            engine.close()
    published = pq.ParquetFile(published_path)
    assert published.metadata.num_row_groups == 1
    assert staged.metadata.num_row_groups > 5  # the sample's lines, 7 at a time
    assert all(staged.metadata.row_group(i).num_rows <= 7 for i in range(staged.metadata.num_row_groups))
    assert rows.to_pylist() == published.read().to_pylist()
    assert staged.schema_arrow.equals(published.schema_arrow)  # names, types, every column optional
    assert staged.metadata.metadata == published.metadata.metadata  # lineage
    assert left == [out.path.name]
    assert result.passed and result.rows == out.rows_written == rows.num_rows


def test_pieces_are_written_in_order_and_a_failing_piece_stops_the_write(tmp_path: Path) -> None:
    engine = DuckDBEngine(duckdb.connect(config={"threads": 2}))
    engine.piece_rows = 100
    engine.execute("CREATE TABLE t AS SELECT i, i % 3 = 0 AS dropped FROM range(1000) r(i)")
    select = "SELECT i, [i, i + 1] AS l FROM t WHERE NOT dropped AND i >= $lo AND i < $hi"
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "out.parquet"

    written = engine.write_parquet_ranges(select, path, 1000, metadata={"k": "v"})

    kept = [i for i in range(1000) if i % 3]
    assert written == len(kept)
    assert pq.read_table(path).to_pylist() == [{"i": i, "l": [i, i + 1]} for i in kept]
    assert pq.ParquetFile(path).metadata.num_row_groups == 10
    assert pq.read_metadata(path).metadata == {b"k": b"v"}
    assert sorted(p.name for p in folder.iterdir()) == ["out.parquet"]
    assert [pq.ParquetFile(path).schema.column(i).max_definition_level for i in range(2)] == [1, 3]
    again = tmp_path / "again.parquet"  # whichever connection wrote which piece: the same bytes,
    engine.write_parquet_ranges(select, again, 1000, metadata={"k": "v"})  # so re-runs are no-ops
    assert again.read_bytes() == path.read_bytes()
    again.unlink()

    failing = select.replace("SELECT i,", "SELECT CASE WHEN i = 556 THEN error('line 556 is bad') ELSE i END AS i,")
    path.unlink()
    with pytest.raises(duckdb.Error, match="line 556 is bad"):
        engine.write_parquet_ranges(failing, path, 1000)
    assert list(folder.iterdir()) == []  # no piece, no half-joined file
    assert engine.rows("SELECT count(*) FROM t") == [(1000,)]  # the engine is still usable


def test_ctrl_c_during_a_write_in_pieces_stops_every_piece_and_leaves_nothing(tmp_path: Path) -> None:
    """The interrupt reaches the waiting main thread: the pieces' queries are interrupted, the
    pool is joined, the pieces are deleted, and the KeyboardInterrupt goes on up."""
    engine = DuckDBEngine(duckdb.connect(config={"threads": 2}))
    engine.piece_rows = 1
    slow = "SELECT i, (SELECT sum(hash(x + i)) FROM range(1000000000) t(x)) AS n FROM range(8) r(i) WHERE i >= $lo AND i < $hi"
    folder = tmp_path / "out"
    folder.mkdir()
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        engine.write_parquet_ranges(slow, folder / "out.parquet", 8)
    timer.cancel()
    assert time.monotonic() - started < 20  # not after every piece ran to its end
    assert list(folder.iterdir()) == []
    assert engine.rows("SELECT 42") == [(42,)]


def test_the_engine_builds_the_star_schema_refine_published(sample_lake: Path, tmp_path: Path) -> None:
    lake = LocalLake(sample_lake)
    engine = open_engine(tmp_path)
    with Workspace(lake) as ws:
        try:
            inputs = register_inputs(engine, ws)
            outputs = build_refined(engine, ws, inputs)
            built = {out.table.name: (out, table_rows(out.path)) for out in outputs}
            staged = {out.table.name: Dataset(out.table, (str(out.path),)) for out in outputs}
            audits = {
                out.table.name: audit(engine, staged[out.table.name], parents=staged)
                for out in outputs
            }
            drop_work_tables(engine)
            left = one(engine, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'dim_filmes'")
        finally:
            engine.close()
    assert inputs.has_titles and [o.table for o in outputs] == list(REFINED_TABLES)
    for table in REFINED_TABLES:
        out, rows = built[table.name]
        assert len(rows) == out.rows_written == out.rows_in > 0, table.name
        assert rows == table_rows(sample_lake / table.data_key()), table.name
        assert audits[table.name].passed, [c.describe() for c in audits[table.name].failures]
        assert all(c.status is Status.PASS for c in audits[table.name].checks), table.name
    assert left == (0,)


# --- the seam itself ------------------------------------------------------------------------------


def test_sql_without_an_engine_file_is_the_shared_file() -> None:
    def shared(name: str) -> str:
        return (resources.files("moviedl") / "sql" / f"{name}.sql").read_text("utf-8")

    assert sql_for("refined", "duckdb") == shared("refined")
    assert sql_for("trusted_tmdb_finish", "spark") == shared("trusted_tmdb_finish")
    assert sql_for("refined", "spark") != shared("refined")  # Spark's own refined.spark.sql


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_write_on_a_full_disk_is_a_disk_full_error_naming_the_file(tmp_path: Path) -> None:
    """DuckDB's "No space left on device" leaves the engine as DiskFullError (exit 3), whatever
    the caller catches as the engine's own errors (a Raw file it cannot read, a Trusted one)."""
    from moviedl.core.errors import DiskFullError, ExitCode

    engine = DuckDBEngine(duckdb.connect())
    full = tmp_path / "data.parquet"
    full.symlink_to("/dev/full")  # every write to it fails with ENOSPC, as on a full disk
    with pytest.raises(DiskFullError) as raised:
        engine.write_parquet("SELECT i, 'x' || i AS s FROM range(100000) t(i)", full)
    assert raised.value.exit_code == ExitCode.SERVICE and raised.value.path == str(full)
    assert raised.value.message.startswith(f"no space left on device at {full} (free space there")
    assert isinstance(raised.value.__cause__, duckdb.IOException)
    assert not isinstance(raised.value, engine.errors)
    with pytest.raises(DiskFullError):
        engine.execute(f"COPY (SELECT 42 AS a FROM range(100000)) TO '{full}' (FORMAT csv)")
    # any other IO error stays the engine's own
    with pytest.raises(duckdb.IOException):
        engine.rows("SELECT * FROM read_parquet($p)", {"p": str(tmp_path / "missing.parquet")})


def test_a_step_of_the_star_schema_is_named_by_the_caller(sample_lake: Path, tmp_path: Path) -> None:
    """build_refined runs each part inside ``step(what)``: refine names the table that failed."""
    import contextlib

    lake = LocalLake(str(sample_lake))
    steps: list[str] = []

    @contextlib.contextmanager
    def step(what: str):  # noqa: ANN202
        steps.append(what)
        yield

    engine = DuckDBEngine(duckdb.connect())
    with Workspace(lake) as ws:
        outputs = build_refined(engine, ws, register_inputs(engine, ws), step=step)
    engine.close()
    assert steps[-5:] == [t.name for t in REFINED_TABLES]
    assert [o.table.name for o in outputs] == steps[-5:]
    assert steps[0] == "the star schema's work tables (sql/refined.sql)"
