"""DuckDB for moviedl: a configured connection, the SQL files shipped in ``moviedl/sql/``, and
:class:`DuckDBEngine`, the :class:`~moviedl.engines.base.Engine` that ``refine`` and ``validate`` run on.

Every connection is in-memory, offline (no extension is ever downloaded: Parquet, JSON and ICU
are built into the wheel), UTC, with ``memory_limit``/``threads``/``temp_directory`` from the
settings so big inputs spill to disk instead of running out of memory.

The functions taking a raw connection (:func:`connect`, :func:`run_script`) and the names
:data:`Connection`, :data:`Error`, :data:`OutOfMemory` serve the modules that use DuckDB itself,
not through the seam: ingest-tmdb's selection and ledger, athena-ddl, report.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import duckdb

from moviedl.core.errors import ConfigError, DiskFullError
from moviedl.engines.base import Params, ident, idents, one, sql_for
from moviedl.engines.parquet_concat import concat_parquet

if TYPE_CHECKING:
    from moviedl.core.config import Settings

#: DuckDB's names that modules outside the engines use, so only the engines import ``duckdb``
Connection: TypeAlias = duckdb.DuckDBPyConnection
Error = duckdb.Error
OutOfMemory = duckdb.OutOfMemoryException

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
#: DuckDB's words for a write the file system refused for lack of space (ENOSPC, EDQUOT), and
#: the file it names: ``Could not write file \"/x/data.parquet\": No space left on device``
_NO_SPACE = re.compile(r'No space left on device|Disk quota exceeded|"errno":\s*"(?:28|122)"')
_FILE = re.compile(r'file \\?"(.+?)\\?"')


def no_space(exc: BaseException) -> str | None:
    """Where DuckDB's error ``exc`` says the disk is full (the file it names, else its
    message's first line); None when it says something else."""
    text = str(exc)
    if not _NO_SPACE.search(text):
        return None
    named = _FILE.search(text)
    return named.group(1) if named else text.splitlines()[0]


@contextlib.contextmanager
def disk_errors() -> Iterator[None]:
    """DuckDB's "No space left on device" (a write to a staged file, a spill to its temporary
    folder) as :class:`~moviedl.core.errors.DiskFullError` — the machine, not the data."""
    try:
        yield
    except duckdb.Error as exc:
        where = no_space(exc)
        if where is None:
            raise
        raise DiskFullError(where) from exc


def connect(settings: Settings | None, spill_dir: Path) -> Connection:
    """An in-memory connection; ``spill_dir`` is used unless ``duckdb.temp_directory`` is set.
    Without ``settings`` (a short side task): DuckDB's own memory limit and threads."""
    config: dict[str, Any] = {
        "temp_directory": str(spill_dir),
        "preserve_insertion_order": True,
        "autoinstall_known_extensions": False,
        "TimeZone": "UTC",
    }
    if settings is not None:
        config["memory_limit"] = settings.duckdb_memory_limit
        config["temp_directory"] = settings.duckdb_temp_directory or str(spill_dir)
        if settings.duckdb_threads:
            config["threads"] = settings.duckdb_threads
    try:
        return duckdb.connect(":memory:", config=config)
    except duckdb.Error as exc:  # InvalidInputException among them
        if settings is None:
            raise
        raise ConfigError(
            f"DuckDB refused its settings (duckdb.memory_limit={settings.duckdb_memory_limit!r}, "
            f"duckdb.threads={settings.duckdb_threads!r}): {exc}"
        ) from None


def statements(name: str) -> list[str]:
    """The statements of an SQL file; each ends with ``;`` at the end of a line."""
    return split_statements(sql_for(name, "duckdb"))


def split_statements(sql: str) -> list[str]:
    """The statements of an SQL text (see :func:`statements`)."""
    found, current = [], []
    for line in sql.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(current).strip()
            if _code(text):
                found.append(text)
            current = []
    if _code("\n".join(current)):
        found.append("\n".join(current).strip())
    return found


def _code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


def run_script(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> None:
    """Run every statement of ``sql/<name>.sql``, each given the ``$named`` parameters it uses."""
    _run_statements(con, statements(name), params)


def _run_statements(
    con: duckdb.DuckDBPyConnection, script: list[str], params: Mapping[str, Any] | None
) -> None:
    params = params or {}
    for statement in script:
        used = {p: params[p] for p in dict.fromkeys(_PARAM.findall(_strip_comments(statement)))}
        con.execute(statement, used or None)


def _strip_comments(statement: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in statement.splitlines())


#: The optimizer whose proofs that a column holds no NULL make DuckDB's Parquet writer mark it
#: REQUIRED: off while an output is written (:meth:`DuckDBEngine.write_parquet`).
NULLABLE_OUTPUT = "statistics_propagation"

#: How every output is written (the whole file, or each piece of it).
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd"

#: Rows of one piece of :meth:`DuckDBEngine.write_parquet_ranges`: DuckDB's Parquet row group,
#: so each piece is one row group of the joined file.
PIECE_ROWS = 122_880


@contextlib.contextmanager
def nullable_output(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """While a write runs: :data:`NULLABLE_OUTPUT` off, as well as whatever optimizers were
    already off, which are put back afterwards (a caller's own choice stays). The setting is
    global: it holds for every connection of ``con``'s database."""
    found = con.execute("SELECT current_setting('disabled_optimizers')").fetchall()
    before = str(found[0][0] or "") if found else ""
    off = [name.strip() for name in before.split(",") if name.strip()]
    con.execute("SET disabled_optimizers = $off", {"off": ",".join([*off, NULLABLE_OUTPUT])})
    try:
        yield
    finally:
        con.execute("SET disabled_optimizers = $off", {"off": before})


class DuckDBEngine:
    """The :class:`~moviedl.engines.base.Engine` on one DuckDB connection (:func:`connect`'s settings
    when opened with :meth:`open`). ``con`` stays reachable for DuckDB-only work (validate's Raw
    JSON checks)."""

    name = "duckdb"
    label = "DuckDB"
    errors: tuple[type[Exception], ...] = (duckdb.Error,)
    input_errors: tuple[type[Exception], ...] = (duckdb.InvalidInputException, duckdb.IOException)
    out_of_memory: tuple[type[Exception], ...] = (duckdb.OutOfMemoryException,)

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings | None = None) -> None:
        self.con = con
        self._settings = settings  # what the connection was opened with, for messages
        self.piece_rows = PIECE_ROWS  # of write_parquet_ranges (tests make pieces small)

    @classmethod
    def open(cls, settings: Settings, spill_dir: Path) -> DuckDBEngine:
        """An engine on a new :func:`connect` connection (``ConfigError`` for bad settings)."""
        return cls(connect(settings, spill_dir), settings)

    def run_script(self, name: str, params: Params = None) -> None:
        with disk_errors():
            _run_statements(self.con, split_statements(sql_for(name, self.name)), params)

    def execute(self, statement: str, params: Params = None) -> None:
        with disk_errors():
            self.con.execute(statement, params or None)

    def rows(self, query: str, params: Params = None) -> list[tuple[Any, ...]]:
        with disk_errors():
            return self.con.execute(query, params or None).fetchall()

    def register_parquet(
        self,
        name: str,
        files: Sequence[str],
        *,
        columns: Sequence[tuple[str, str]] | None = None,
        per_file: Mapping[str, Sequence[str]] | None = None,
    ) -> str:
        tags = dict(per_file or {})
        if columns is not None and not files:  # an empty relation, so SQL over it still binds
            typed = [f"CAST(NULL AS {type_}) AS {ident(c)}" for c, type_ in columns]
            typed += [f"CAST(NULL AS VARCHAR) AS {ident(c)}" for c in tags]
            relation = self.con.sql(f"SELECT {', '.join(typed)} WHERE false")
        else:
            selected = idents([c for c, _ in columns]) if columns is not None else "*"
            options = "hive_partitioning = false"
            if columns is not None:
                options = "union_by_name = true, " + options
            params: dict[str, Any] = {"files": list(files)}
            query = f"SELECT {selected} FROM read_parquet($files, {options})"
            if tags:  # one value per file, joined on the file's name
                values = ", ".join(f"unnest($tag{i}) AS {ident(c)}" for i, c in enumerate(tags))
                own = ", ".join(f"p.{ident(c)}" for c in tags)
                selected = selected if columns is not None else "t.* EXCLUDE (filename)"
                query = (
                    f"SELECT {selected}, {own} FROM read_parquet($files, filename = true, {options}) AS t "
                    f"JOIN (SELECT unnest($files) AS filename, {values}) AS p USING (filename)"
                )
                params |= {f"tag{i}": list(v) for i, v in enumerate(tags.values())}
            relation = self.con.sql(query, params=params)
        relation.create_view(name, replace=True)
        return ident(name)

    def write_parquet(
        self,
        select: str,
        path: Path,
        params: Params = None,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """``select`` to the Parquet file ``path`` (zstd), ``metadata`` as its key-value metadata,
        every column OPTIONAL (nullable) as the contract has them: DuckDB would otherwise mark
        REQUIRED each column its statistics prove NULL-free, so one date's file would differ
        from another's, and from Spark's (statistics propagation is off for this statement)."""
        options = PARQUET_OPTIONS + (", KV_METADATA $kv" if metadata else "")
        values = {**(params or {}), "path": str(path), **({"kv": dict(metadata)} if metadata else {})}
        with disk_errors(), nullable_output(self.con):
            written = self.con.execute(f"COPY ({select}) TO $path ({options})", values).fetchall()
        return int(written[0][0]) if written else 0

    def write_parquet_ranges(
        self,
        select: str,
        path: Path,
        rows: int,
        params: Params = None,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Each range of :attr:`piece_rows` indexes is written to a file of its own, on a
        connection of its own, as many at once as DuckDB has threads, and the pieces are joined
        in order without decoding them (:func:`~moviedl.engines.parquet_concat.concat_parquet`).
        DuckDB's order-preserving write of the whole table holds its out-of-order row groups in
        at most a quarter of ``memory_limit`` and keeps a core waiting while it is full: on a
        1M-row Trusted file the pieces took 1.2 s where the one write took 2.0 s."""
        step = self.piece_rows
        ranges = [(lo, min(lo + step, rows)) for lo in range(0, rows, step)]
        if len(ranges) < 2:
            return self.write_parquet(select, path, {**(params or {}), "lo": 0, "hi": rows}, metadata=metadata)
        pieces = [path.with_name(f".{path.name}.{i:05d}.piece") for i in range(len(ranges))]
        try:
            with nullable_output(self.con):  # a global setting: once, for every connection
                written = self._write_pieces(select, params, list(zip(ranges, pieces, strict=True)))
            joined = concat_parquet(pieces, path, metadata=metadata)
        finally:
            for piece in pieces:
                piece.unlink(missing_ok=True)
        if joined != written:  # the footer must hold every row the pieces wrote
            raise duckdb.IOException(f"{path}: joined {joined} rows of the {written} written")
        return written

    def _write_pieces(
        self, select: str, params: Params, work: list[tuple[tuple[int, int], Path]]
    ) -> int:
        """Write each (range, piece) of ``work`` on a pool of connections; the rows written. The
        first failure stops the others (their queries interrupted) and is raised."""
        (threads,) = one(self, "SELECT current_setting('threads')")
        cursors = [self.con.cursor() for _ in range(max(1, min(int(threads), len(work))))]
        todo, lock, stop = iter(work), threading.Lock(), threading.Event()
        copy = f"COPY ({select}) TO $path ({PARQUET_OPTIONS}, ROW_GROUP_SIZE {self.piece_rows})"

        def worker(con: duckdb.DuckDBPyConnection) -> int:
            """The rows of the pieces this connection wrote."""
            written = 0
            with disk_errors():
                while not stop.is_set():
                    with lock:
                        item = next(todo, None)
                    if item is None:
                        break
                    (lo, hi), piece = item
                    values = {**(params or {}), "lo": lo, "hi": hi, "path": str(piece)}
                    found = con.execute(copy, values).fetchall()
                    written += int(found[0][0]) if found else 0
            return written

        try:
            with ThreadPoolExecutor(len(cursors), thread_name_prefix="moviedl-write") as pool:
                futures = [pool.submit(worker, con) for con in cursors]
                try:  # short waits, so that Ctrl-C is handled here whichever thread it reached
                    pending = set(futures)
                    while pending and not any(f.done() and f.exception() for f in futures):
                        pending = wait(pending, timeout=0.1, return_when=FIRST_EXCEPTION).not_done
                finally:  # a failure, or Ctrl-C in this thread: stop the others before leaving
                    if not all(f.done() and f.exception() is None for f in futures):
                        stop.set()
                        for con in cursors:
                            con.interrupt()
                    wait(futures)
                failed = [e for f in futures if (e := f.exception()) is not None]
                if failed:  # the cause, not the interrupts it caused
                    raise next((e for e in failed if not isinstance(e, duckdb.InterruptException)), failed[0])
                return sum(f.result() for f in futures)
        finally:
            for con in cursors:
                con.close()

    def parquet_rows(self, path: str) -> int:
        found = one(
            self, "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata($path)",
            {"path": path},
        )
        return int(found[0]) if found else 0

    def parquet_schema(self, path: str) -> list[tuple[str, str]]:
        described = self.con.execute(
            "DESCRIBE SELECT * FROM read_parquet($path, hive_partitioning = false)", {"path": path}
        ).fetchall()
        return [(str(name), str(type_)) for name, type_, *_ in described]

    def parquet_metadata(self, path: str) -> dict[str, str]:
        found = self.con.execute(
            "SELECT decode(key), decode(value) FROM parquet_kv_metadata($path)", {"path": path}
        ).fetchall()
        return {str(k): str(v) for k, v in found}

    def out_of_memory_error(self, exc: BaseException, consequence: str = "") -> ConfigError:
        if self._settings is not None:
            limit = self._settings.duckdb_memory_limit
        else:
            limit = str(one(self, "SELECT current_setting('memory_limit')")[0])
        return ConfigError(
            f"DuckDB ran out of memory (duckdb.memory_limit = {limit}): "
            f"{str(exc).splitlines()[0]}{consequence}",
            hint="Raise duckdb.memory_limit in moviedl.toml, or point duckdb.temp_directory at a "
            "disk with free space so DuckDB can spill.",
        )

    def close(self) -> None:
        self.con.close()
