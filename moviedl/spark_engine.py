"""Apache Spark for moviedl: :class:`SparkEngine`, the :class:`~moviedl.engine.Engine` behind
``moviedl refine --engine spark`` (optional: ``pip install 'moviedl[spark]'``, Java 17 or 21).

It runs the same SQL as the DuckDB engine: each statement is translated by
:class:`moviedl.spark_sql.Translator` (sqlglot, DuckDB -> Spark, plus the rules sqlglot cannot
know), or comes from a file's own Spark text (``moviedl/sql/<name>.spark.sql``). What Spark SQL
has no statement for, the engine does with Spark's DataFrame API, and nothing more:

* ``CREATE TEMP TABLE x AS ...``: the result is materialised (``localCheckpoint``: computed
  once, so a window over it never changes between reads) and registered as the view ``x``;
  ``UPDATE x SET c = ... WHERE ...`` materialises ``x`` again with ``c`` replaced;
  ``DROP TABLE``/``DROP VIEW`` drops the view and frees its blocks.
* ``read_lines(:path)`` in a Spark SQL file: the lines of a local text file with their numbers
  (1-based, counting the lines the CSV reader counts: empty lines are skipped, as DuckDB's
  ``read_csv`` skips them). ``read_json_records(:files)``: each record of JSON array files, as the
  exact text stored (DuckDB's ``read_json_objects`` keeps it; Spark's JSON functions would
  rewrite numbers), read on the driver.
* Input files are local paths (refine downloads an S3 lake's first): a local Spark reads them
  in parallel; on a cluster, whose executors cannot open them, the engine reads them on the
  driver and hands Spark their rows (:attr:`SparkEngine.inputs_on_driver`).
* Parquet: inputs are read with columns matched by name; each output is collected as
  Arrow and written by pyarrow as one zstd file with the key-value metadata moviedl records
  (Spark writes folders of part files and cannot set footer metadata). Footers (rows, schema,
  metadata) are read with pyarrow.

The session: the one already running (``SparkSession.getActiveSession()``; in AWS Glue, Glue's),
which the engine never stops; else a new ``local[2]`` session (UTC, ANSI SQL, small shuffles, no
UI, quiet logs, scratch files in refine's workspace) that :meth:`SparkEngine.close` stops.

Errors: every failure leaves as :class:`SparkError` (its first line is Spark's message without
the error-class decoration); unreadable input as :class:`SparkInputError`; memory exhaustion as
:class:`SparkOutOfMemory`. Where Spark would type or word a value otherwise than DuckDB (the
SQL raises a ``moviedl refused:`` error, see :mod:`moviedl.spark_sql`), :class:`SparkRefusal`:
an input error (exit 2) that sends the user to the DuckDB engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from moviedl.engine import Params, ident, sql_for
from moviedl.errors import ConfigError, InputFileError
from moviedl.spark_sql import REFUSED, Statement, TranslationError, Translator, bind

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from moviedl.config import Settings

INSTALL_HINT = "pip install 'moviedl[spark]'"
DEFAULT_MASTER = "local[2]"
#: Settings of a session this engine starts (a running session keeps its own, but for
#: :data:`SQL_CONF`). ANSI: a failed CAST raises, as in DuckDB; TRY_CAST returns NULL.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": "2g",
}
#: Settings the SQL depends on, set on whichever session the engine runs in (Glue's too).
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}
_LOG4J = """\
rootLogger.level = off
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %m%n
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = off
logger.python.name = org.apache.spark.api.python.PythonGatewayServer
logger.python.level = off
"""
#: Contract types (DuckDB's names) -> Spark SQL types, for empty relations of known columns.
SPARK_TYPES = {
    "VARCHAR": "STRING", "INTEGER": "INT", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE",
    "DATE": "DATE", "TIMESTAMP": "TIMESTAMP_NTZ", "BOOLEAN": "BOOLEAN", "VARCHAR[]": "ARRAY<STRING>",
}
_CLASS = re.compile(r"^\[([A-Z_.]+)\]\s*")
_SQLSTATE = re.compile(r"\s*SQLSTATE: \w+\s*$")
_INPUT_CONDITIONS = ("USER_RAISED_EXCEPTION", "PATH_NOT_FOUND", "FAILED_READ_FILE", "MALFORMED_RECORD")


class SparkError(Exception):
    """A Spark statement failed (its message, without Spark's error-class decoration)."""


class SparkInputError(SparkError):
    """An input file could not be read as the statement asked."""


class SparkOutOfMemory(SparkError):
    """The Spark driver or an executor ran out of memory."""


class SparkRefusal(InputFileError):
    """The data holds a value Spark would type or word otherwise than DuckDB (a date written
    '2024/05/01', a number Java spells 1.0E-5 in a quarantine reason): the Spark engine stops
    rather than publish something else than DuckDB would."""


def load_pyspark() -> Any:
    """The ``pyspark`` module, or a :class:`ConfigError` saying how to install it."""
    try:
        import pyspark
    except ImportError:
        raise ConfigError(
            "refine.engine = spark needs PySpark, which is not installed",
            hint=f"Install the Spark extra: {INSTALL_HINT} (and Java 17 or 21), or use --engine duckdb.",
        ) from None
    return pyspark


def java_problem() -> str | None:
    """Why Spark cannot start a JVM here (None when ``java`` is found)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return None
    if shutil.which("java"):
        return None
    return "no Java runtime found (java is not on PATH and JAVA_HOME is not set)"


_lock = threading.Lock()


def session(scratch: Path | None = None) -> tuple[SparkSession, bool]:
    """The running Spark session, or a new local one; and whether this call created it."""
    load_pyspark()
    from pyspark.sql import SparkSession

    with _lock:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active, False
        problem = java_problem()
        if problem:
            raise ConfigError(
                f"refine.engine = spark cannot start Spark: {problem}",
                hint="Install Java 17 or 21 (e.g. apt-get install openjdk-17-jre-headless) or set "
                "JAVA_HOME; or use --engine duckdb.",
            )
        builder = SparkSession.builder.master(DEFAULT_MASTER)
        builder = builder.appName("moviedl")
        for key, value in SESSION_CONF.items():
            builder = builder.config(key, value)
        quiet = None
        if scratch is not None:
            scratch.mkdir(parents=True, exist_ok=True)
            quiet = scratch / "log4j2.properties"
            quiet.write_text(_LOG4J, "utf-8")
            builder = builder.config("spark.local.dir", str(scratch))
            builder = builder.config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        try:
            with _environment(LOG4J_CONFIGURATION_FILE=str(quiet) if quiet else None):
                spark = builder.getOrCreate()
        except Exception as exc:  # the JVM did not start (a Java too old or too new, no memory)
            raise ConfigError(
                f"refine.engine = spark could not start Spark: {_first_line(exc)}",
                hint="Spark 4 needs Java 17 or 21 (JAVA_HOME); or use --engine duckdb.",
            ) from None
        spark.sparkContext.setLogLevel("OFF")
        return spark, True


@contextmanager
def _environment(**values: str | None) -> Iterator[None]:
    """Environment variables for the JVM Spark starts (the log4j configuration: Spark's
    ``extraJavaOptions`` come too late for a driver started from Python), then as before."""
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is not None and key not in os.environ:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)


class SparkEngine:
    """The :class:`~moviedl.engine.Engine` on a Spark session (see the module docstring)."""

    name = "spark"
    label = "Spark"
    errors: tuple[type[Exception], ...] = (SparkError,)
    input_errors: tuple[type[Exception], ...] = (SparkInputError,)
    out_of_memory: tuple[type[Exception], ...] = (SparkOutOfMemory,)

    #: :attr:`inputs_on_driver` for every new engine when not None (tests read both ways)
    INPUTS_ON_DRIVER: bool | None = None

    def __init__(
        self, spark: SparkSession, *, owned: bool = False, inputs_on_driver: bool | None = None
    ) -> None:
        self.spark = spark
        self._owned = owned
        #: Read input files on the driver and hand Spark their rows, rather than have executors
        #: read them: refine gives local paths, which executors on other machines cannot open.
        #: The default: only when Spark is not in local mode (a cluster, AWS Glue).
        if inputs_on_driver is None:
            inputs_on_driver = self.INPUTS_ON_DRIVER
        self.inputs_on_driver = (
            not str(spark.sparkContext.master).startswith("local")
            if inputs_on_driver is None else inputs_on_driver
        )
        for key, value in SQL_CONF.items():
            spark.conf.set(key, value)
        icu = _icu(spark)
        self.sql = Translator(icu=icu)
        if not icu:  # no ICU4J on the class path: Python's NFC, as a UDF
            spark.udf.register("nfc_normalize", _nfc, "string")
        self._tables: dict[str, DataFrame] = {}  # materialised temp tables, to free on drop
        self._views: set[str] = set()

    @classmethod
    def open(cls, settings: Settings | None = None, scratch: Path | None = None) -> SparkEngine:
        spark, created = session(scratch)
        return cls(spark, owned=created)

    # --- SQL ----------------------------------------------------------------------------------

    def run_script(self, name: str, params: Params = None) -> None:
        own = (resources.files("moviedl") / "sql" / f"{name}.{self.name}.sql").is_file()
        text = sql_for(name, self.name)
        with self._errors():
            for statement in self.sql.script(text, "spark" if own else "duckdb"):
                self._run(statement, params)

    def execute(self, statement: str, params: Params = None) -> None:
        with self._errors():
            for one in self.sql.statements(statement):
                self._run(one, params)

    def rows(self, query: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self._errors():
            statements = self.sql.statements(query)
            if len(statements) != 1 or statements[0].kind != "query":
                raise TranslationError("rows() takes one query")
            found = self._df(statements[0], params).collect()
        return [tuple(row) for row in found]

    def _run(self, statement: Statement, params: Params) -> None:
        if statement.kind == "macro":
            return
        if statement.kind == "drop":
            if not self._drop(statement.name) and not statement.if_exists:
                raise SparkError(f"{statement.name} does not exist (DROP without IF EXISTS)")
            return
        if statement.kind == "update":
            self._update(statement, params)
            return
        df = self._df(statement, params)
        if statement.kind == "table":
            self._materialise(statement.name, df)
        elif statement.kind == "view":
            self._drop(statement.name)
            df.createOrReplaceTempView(statement.name)
            self._views.add(statement.name)
        else:
            df.collect()  # a statement run for its effect (or its errors)

    def _df(self, statement: Statement, params: Params) -> DataFrame:
        for view, (reader, param) in statement.readers.items():
            value = (params or {}).get(param)
            if value is None:
                raise TranslationError(f"no value for the parameter {param}")
            frame = self._read_lines(str(value)) if reader == "read_lines" else self._read_json(list(value))
            frame.createOrReplaceTempView(view)
        return self.spark.sql(statement.sql, args=bind(params, statement.params) or None)

    def _materialise(self, name: str, df: DataFrame) -> None:
        done = df.localCheckpoint(eager=True)
        self._drop(name)
        done.createOrReplaceTempView(name)
        self._tables[name] = done

    def _update(self, statement: Statement, params: Params) -> None:
        columns = self.spark.table(statement.name).columns
        if statement.column not in columns:
            raise TranslationError(f"UPDATE: {statement.name} has no column {statement.column}")
        select = ", ".join(
            f"({statement.sql}) AS {_tick(c)}" if c == statement.column else _tick(c) for c in columns
        )
        query = Statement("query", f"SELECT {select} FROM {_tick(statement.name)}", params=statement.params)
        self._materialise(statement.name, self._df(query, params))

    def _drop(self, name: str) -> bool:
        """Drop the temporary view ``name`` (freeing a materialised table's blocks); whether
        there was one."""
        existed = bool(self.spark.catalog.dropTempView(name))
        self._views.discard(name)
        old = self._tables.pop(name, None)
        if old is not None:
            old.unpersist()
        return existed

    # --- reading local files -----------------------------------------------------------------

    def _read_lines(self, path: str) -> DataFrame:
        """(line, value): the file's non-empty lines and their numbers among them (the header
        is line 1), a trailing CR removed; numbered in parallel from each split's offset (or
        read on the driver, :attr:`inputs_on_driver`)."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        if self.inputs_on_driver:
            try:
                content = Path(path).read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SparkInputError(f"{path}: {exc}") from None
            lines = [line.removesuffix("\r") for line in content.split("\n")]
            values = [line for line in lines if line]
            table = pa.table({"line": pa.array(range(1, len(values) + 1), pa.int64()),
                              "value": pa.array(values, pa.string())})
            return self.spark.createDataFrame(table)

        text = (
            self.spark.read.option("lineSep", "\n").text(_hadoop_path(path))
            .select(
                F.col("_metadata.file_block_start").alias("block"),
                F.monotonically_increasing_id().alias("n"),
                F.regexp_replace("value", "\r$", "").alias("value"),
            )
            .where(F.col("value") != "")
        ).localCheckpoint(eager=True)
        counts = sorted(text.groupBy("block").count().collect())
        offsets, total = {}, 0
        for block, count in counts:
            offsets[int(block)] = total
            total += int(count)
        start = F.create_map(*[x for b, o in offsets.items() for x in (F.lit(b), F.lit(o))]) if offsets else None
        within = F.row_number().over(Window.partitionBy("block").orderBy("n"))
        line = (start[F.col("block")] + within) if start is not None else within
        return text.select(line.cast("bigint").alias("line"), "value")

    def _read_json(self, files: list[str]) -> DataFrame:
        """(file_index, filename, record, json): each element of each file's top-level JSON
        array, as the exact text stored (see :func:`json_records`)."""
        names, indexes, records, texts = [], [], [], []
        for index, path in enumerate(files):
            try:
                elements = json_records(Path(path).read_text("utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise SparkInputError(f"{path}: {exc}") from None
            for number, element in enumerate(elements, 1):
                names.append(path)
                indexes.append(index)
                records.append(number)
                texts.append(element)
        table = pa.table({
            "file_index": pa.array(indexes, pa.int64()),
            "filename": pa.array(names, pa.string()),
            "record": pa.array(records, pa.int64()),
            "json": pa.array(texts, pa.string()),
        })
        return self.spark.createDataFrame(table)

    # --- Parquet ------------------------------------------------------------------------------

    def register_parquet(
        self,
        name: str,
        files: Sequence[str],
        *,
        columns: Sequence[tuple[str, str]] | None = None,
        per_file: Mapping[str, Sequence[str]] | None = None,
    ) -> str:
        from pyspark.sql import functions as F

        tags = dict(per_file or {})
        with self._errors():
            if columns is not None and not files:
                typed = [f"CAST(NULL AS {SPARK_TYPES[t]}) AS {_tick(c)}" for c, t in columns]
                typed += [f"CAST(NULL AS STRING) AS {_tick(c)}" for c in tags]
                df = self.spark.sql(f"SELECT {', '.join(typed)} WHERE false")
            else:
                if columns is not None:
                    schema = ", ".join(f"{_tick(c)} {SPARK_TYPES[t]}" for c, t in columns)
                    wanted = [c for c, _ in columns]
                else:
                    fields = pq.read_schema(files[0])
                    schema, wanted = None, list(fields.names)
                selected = [F.col(_tick(c)) for c in wanted]
                if not tags:
                    df = self._parquet(list(files), schema, columns).select(*selected)
                else:  # one read per distinct tag value, each tagged with its values
                    groups: dict[tuple[str, ...], list[str]] = {}
                    for i, path in enumerate(files):
                        groups.setdefault(tuple(str(v[i]) for v in tags.values()), []).append(path)
                    parts = [
                        self._parquet(paths, schema, columns).select(
                            *selected, *[F.lit(v).alias(c) for c, v in zip(tags, values, strict=True)]
                        )
                        for values, paths in groups.items()
                    ]
                    df = parts[0]
                    for part in parts[1:]:
                        df = df.unionByName(part)
            self._drop(name)
            df.createOrReplaceTempView(name)
            self._views.add(name)
        return ident(name)

    def _parquet(
        self, files: list[str], schema: str | None, columns: Sequence[tuple[str, str]] | None
    ) -> DataFrame:
        """The rows of local Parquet files, columns matched by name (``schema``: Spark's DDL
        of the contract's ``columns``; a column a file lacks is NULL)."""
        if not self.inputs_on_driver:
            reader = self.spark.read.option("mergeSchema", "false")
            if schema is not None:
                reader = reader.schema(schema)
            return reader.parquet(*[_hadoop_path(f) for f in files])
        from pyspark.sql import functions as F

        try:
            tables = [pq.read_table(f) for f in files]
        except (OSError, pa.ArrowException) as exc:
            raise SparkError(str(exc).splitlines()[0]) from None
        if columns is None:
            return self.spark.createDataFrame(pa.concat_tables(tables, promote_options="permissive"))
        wanted = [c for c, _ in columns]
        parts = []
        for table in tables:
            present = [c for c in wanted if c in table.column_names]
            part = table.select(present)
            for name in wanted:
                if name not in present:
                    part = part.append_column(name, pa.nulls(part.num_rows, pa.string()))
            parts.append(part.select(wanted))
        found = self.spark.createDataFrame(pa.concat_tables(parts, promote_options="permissive"))
        return found.select(*[F.col(_tick(c)).cast(SPARK_TYPES[t]).alias(c) for c, t in columns])

    def write_parquet(
        self,
        select: str,
        path: Path,
        params: Params = None,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        with self._errors():
            statements = self.sql.statements(select)
            if len(statements) != 1 or statements[0].kind != "query":
                raise TranslationError("write_parquet() takes one query")
            df = self._df(statements[0], params)
            try:
                table = df.toArrow()
            except MemoryError as exc:
                raise SparkOutOfMemory(f"collecting {path.name} on the driver: {exc}") from None
            table = table.cast(nullable(table.schema))
            try:  # no ARROW:schema key: the footer holds what DuckDB's holds
                with pq.ParquetWriter(path, table.schema, compression="zstd", store_schema=False) as out:
                    out.write_table(table)
                    if metadata:
                        out.add_key_value_metadata({str(k): str(v) for k, v in metadata.items()})
            except (OSError, pa.ArrowException) as exc:
                raise SparkError(f"{path}: {exc}") from None
        return table.num_rows

    def parquet_rows(self, path: str) -> int:
        with _pyarrow_errors(path):
            return int(pq.read_metadata(path).num_rows)

    def parquet_schema(self, path: str) -> list[tuple[str, str]]:
        with _pyarrow_errors(path):
            schema = pq.read_schema(path)
        return [(f.name, duckdb_type(f.type)) for f in schema]

    def parquet_metadata(self, path: str) -> dict[str, str]:
        with _pyarrow_errors(path):
            found = pq.read_metadata(path).metadata or {}
        return {k.decode("utf-8"): v.decode("utf-8") for k, v in found.items() if not k.startswith(b"ARROW:")}

    # --- errors and the end -------------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        try:
            yield
        except (SparkError, SparkRefusal, KeyboardInterrupt):
            raise
        except TranslationError as exc:
            raise SparkError(str(exc)) from exc
        except (PySparkException, Py4JError) as exc:
            raise classify(exc) from exc

    def out_of_memory_error(self, exc: BaseException, consequence: str = "") -> ConfigError:
        try:
            memory = self.spark.conf.get("spark.driver.memory", "1g")
        except Exception:  # a session that is gone
            memory = "?"
        return ConfigError(
            f"Spark ran out of memory (spark.driver.memory = {memory}): {_first_line(exc)}{consequence}",
            hint="Give Spark more memory (spark.driver.memory in spark-defaults.conf or "
            "PYSPARK_SUBMIT_ARGS; bigger Glue workers), or run refine with --engine duckdb, "
            "which spills to disk.",
        )

    def close(self) -> None:
        for name in list(self._views | set(self._tables)):
            try:
                self._drop(name)
            except Exception:  # the session may already be gone
                pass
        if self._owned:
            self.spark.stop()


# --- helpers ------------------------------------------------------------------------------------


def _icu(spark: SparkSession) -> bool:
    """Whether ICU4J (Spark 4 ships it for collations) is on the driver's class path."""
    try:
        spark.sql("SELECT reflect('com.ibm.icu.text.Normalizer', 'compose', 'e', false)").collect()
    except Exception:
        return False
    return True


def _nfc(text: str | None) -> str | None:
    return None if text is None else unicodedata.normalize("NFC", text)


def _tick(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _hadoop_path(path: str) -> str:
    """A local path as Spark reads it: an absolute file URI, glob characters escaped."""
    absolute = os.path.abspath(path)
    return "file://" + re.sub(r"([*?\[\]{}\\])", r"\\\1", absolute)


def json_records(text: str) -> list[str]:
    """The elements of a JSON array text, each as the exact text it has in the file (raises
    ValueError when the text is not one JSON array)."""
    decoder = json.JSONDecoder()
    found: list[str] = []
    n = len(text)
    i = _skip(text, 0)
    if i >= n or text[i] != "[":
        raise ValueError("expected a top-level JSON array")
    i = _skip(text, i + 1)
    if i < n and text[i] == "]":
        i = _skip(text, i + 1)
        if i != n:
            raise ValueError(f"unexpected text after the array at character {i}")
        return found
    while True:
        _value, end = decoder.raw_decode(text, i)
        found.append(text[i:end])
        i = _skip(text, end)
        if i < n and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if i < n and text[i] == "]":
            i = _skip(text, i + 1)
            if i != n:
                raise ValueError(f"unexpected text after the array at character {i}")
            return found
        raise ValueError(f"expected ',' or ']' at character {i}")


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\n\r":
        i += 1
    return i


def nullable(schema: pa.Schema) -> pa.Schema:
    """The schema with every field (and list item) nullable, as DuckDB writes Parquet."""

    def loose(type_: pa.DataType) -> pa.DataType:
        if pa.types.is_list(type_) or pa.types.is_large_list(type_):
            return pa.list_(pa.field("element", loose(type_.value_type), nullable=True))
        if pa.types.is_large_string(type_):
            return pa.string()
        return type_

    return pa.schema([pa.field(f.name, loose(f.type), nullable=True) for f in schema])


def duckdb_type(type_: pa.DataType) -> str:
    """A Parquet column's Arrow type as DuckDB's DESCRIBE names it (the contract's names)."""
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        return duckdb_type(type_.value_type) + "[]"
    if pa.types.is_timestamp(type_):
        if type_.tz is not None:
            return "TIMESTAMP WITH TIME ZONE"
        return {"s": "TIMESTAMP_S", "ms": "TIMESTAMP_MS", "us": "TIMESTAMP", "ns": "TIMESTAMP_NS"}[type_.unit]
    if pa.types.is_decimal(type_):
        return f"DECIMAL({type_.precision},{type_.scale})"
    names = {
        pa.int8(): "TINYINT", pa.int16(): "SMALLINT", pa.int32(): "INTEGER", pa.int64(): "BIGINT",
        pa.uint8(): "UTINYINT", pa.uint16(): "USMALLINT", pa.uint32(): "UINTEGER", pa.uint64(): "UBIGINT",
        pa.float32(): "FLOAT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN",
        pa.string(): "VARCHAR", pa.large_string(): "VARCHAR", pa.binary(): "BLOB",
        pa.large_binary(): "BLOB", pa.date32(): "DATE", pa.time64("us"): "TIME",
    }
    return names.get(type_, str(type_).upper())


@contextmanager
def _pyarrow_errors(path: str) -> Iterator[None]:
    try:
        yield
    except (OSError, pa.ArrowException) as exc:
        raise SparkError(f"{Path(path).name}: {_first_line(exc)}") from None


def classify(exc: BaseException) -> Exception:
    """Spark's exception as the engine's: a refusal, input, out of memory, or any other failure."""
    text = str(exc)
    if REFUSED in text:
        reason = text.split(REFUSED, 1)[1].splitlines()[0]
        reason = _SQLSTATE.sub("", reason).strip()
        return SparkRefusal(
            f"the Spark engine cannot refine this as DuckDB does: {reason}",
            hint="Refine this date with --engine duckdb (docs/refine.md, 'Running on Spark', lists "
            "what the Spark engine refuses).",
        )
    condition = ""
    getter = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    if getter is not None:
        try:
            condition = getter() or ""
        except Exception:
            condition = ""
    message = _first_line(exc)
    if "OutOfMemoryError" in text or "SparkOutOfMemoryError" in text or condition.startswith("UNABLE_TO_ACQUIRE_MEMORY"):
        return SparkOutOfMemory(message)
    if any(condition.startswith(c) for c in _INPUT_CONDITIONS):
        return SparkInputError(message)
    return SparkError(message)


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    text = lines[0].strip() if lines else type(exc).__name__
    text = _SQLSTATE.sub("", _CLASS.sub("", text))
    return text
