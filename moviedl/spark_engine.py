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
* Parquet: inputs are read with columns matched by name. Each output is written by the
  executors as a folder of part files in the engine's scratch folder, then streamed batch by
  batch into the one zstd file with the key-value metadata moviedl records (Spark cannot set
  footer metadata): the driver holds one batch at a time, whatever the table's size. On a
  cluster, whose executors cannot write to the driver's disk, the rows come to the driver one
  partition at a time instead (:attr:`SparkEngine.outputs_on_driver`). Footers (rows, schema,
  metadata) are read with pyarrow.

Spark 3.5 (AWS Glue 5.0) and 4: on 3.5 (:attr:`SparkEngine.spark4` false) the engine replaces
what only Spark 4 has: VARIANT JSON functions (:func:`json_kind`, :func:`json_array`, see
:func:`moviedl.spark_sql.without_variant`), ``SELECT * EXCEPT`` (written out), list and map
parameters (inlined as literals) and DataFrames from Arrow tables (from rows). Older Spark is
refused (:func:`check_version`).

The session: the one already running (``SparkSession.getActiveSession()``; in AWS Glue, Glue's),
which the engine never stops; else a new session on ``spark.master`` (default ``local[2]``) with
``spark.driver_memory`` (default 2g) (UTC, ANSI SQL, small shuffles, no UI, quiet logs, scratch
files in refine's workspace) that :meth:`SparkEngine.close` stops.

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
import tempfile
import threading
import unicodedata
import uuid
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
DEFAULT_DRIVER_MEMORY = "2g"
#: The oldest Spark the engine runs on (AWS Glue 5.0 runs 3.5.4).
MIN_SPARK = (3, 5)
#: Settings of a session this engine starts (a running session keeps its own, but for
#: :data:`SQL_CONF`), besides ``spark.master`` and ``spark.driver.memory`` (moviedl's
#: ``spark.master`` and ``spark.driver_memory``). ANSI: a failed CAST raises, as in DuckDB;
#: TRY_CAST returns NULL.
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
}
#: Settings the SQL depends on, set on whichever session the engine runs in (Glue's too).
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    # part files of outputs: timestamps as Parquet's INT64 micros, as DuckDB writes them
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
#: Rows per batch of an output's merge into its single Parquet file (and per row group of it):
#: what the driver holds of a table at a time.
MERGE_BATCH_ROWS = 122_880
#: Row groups of the part files the executors write (bounds what one read of them holds).
PART_ROW_GROUP_BYTES = 32 * 1024 * 1024
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


def session(
    scratch: Path | None = None,
    *,
    master: str = DEFAULT_MASTER,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
) -> tuple[SparkSession, bool]:
    """The running Spark session, or a new one on ``master`` with ``driver_memory`` (a running
    session keeps its own); and whether this call created it."""
    pyspark = load_pyspark()
    check_version(pyspark.__version__)
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
        builder = SparkSession.builder.master(master)
        builder = builder.appName("moviedl")
        for key, value in {**SESSION_CONF, "spark.driver.memory": driver_memory}.items():
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
                f"refine.engine = spark could not start Spark (spark.master = {master}, "
                f"spark.driver_memory = {driver_memory}): {_first_line(exc)}",
                hint="Spark needs Java 17 or 21 (JAVA_HOME) and the memory spark.driver_memory "
                "asks for; or use --engine duckdb.",
            ) from None
        spark.sparkContext.setLogLevel("OFF")
        return spark, True


def check_version(version: str) -> None:
    """Refuse (:class:`ConfigError`) a PySpark older than :data:`MIN_SPARK`."""
    found = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    if found < MIN_SPARK:
        raise ConfigError(
            f"refine.engine = spark needs Spark {'.'.join(map(str, MIN_SPARK))} or later; "
            f"PySpark {version} is installed",
            hint=f"Upgrade: {INSTALL_HINT} (or run on AWS Glue 5.0 or later); or use --engine duckdb.",
        )


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

    #: :attr:`inputs_on_driver` / :attr:`outputs_on_driver` for every new engine when not None
    #: (tests run both ways)
    INPUTS_ON_DRIVER: bool | None = None
    OUTPUTS_ON_DRIVER: bool | None = None
    #: :attr:`spark4` for every new engine when not None (tests run Spark 3.5's ways on Spark 4)
    SPARK4: bool | None = None

    def __init__(
        self,
        spark: SparkSession,
        *,
        owned: bool = False,
        inputs_on_driver: bool | None = None,
        outputs_on_driver: bool | None = None,
        scratch: Path | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.spark = spark
        self._owned = owned
        self._settings = settings
        local = str(spark.sparkContext.master).startswith("local")
        #: Read input files on the driver and hand Spark their rows, rather than have executors
        #: read them: refine gives local paths, which executors on other machines cannot open.
        #: The default: only when Spark is not in local mode (a cluster, AWS Glue).
        if inputs_on_driver is None:
            inputs_on_driver = self.INPUTS_ON_DRIVER
        self.inputs_on_driver = not local if inputs_on_driver is None else inputs_on_driver
        #: Bring an output's rows to the driver one partition at a time to write its file,
        #: rather than have executors write part files into :attr:`scratch` (a folder of the
        #: driver's machine). The default: only when Spark is not in local mode.
        if outputs_on_driver is None:
            outputs_on_driver = self.OUTPUTS_ON_DRIVER
        self.outputs_on_driver = not local if outputs_on_driver is None else outputs_on_driver
        self._scratch = scratch
        self._own_scratch: Path | None = None
        for key, value in SQL_CONF.items():
            spark.conf.set(key, value)
        #: Spark 4 or later: VARIANT, ``SELECT * EXCEPT``, DataFrames from Arrow tables; Spark
        #: 3.5 (AWS Glue 5.0) gets the engine's replacements (see :func:`spark_major`)
        self.spark4 = spark_major(spark.version) >= 4 if self.SPARK4 is None else self.SPARK4
        icu = _icu(spark)
        self.sql = Translator(icu=icu, variant=self.spark4)
        if not icu:  # no ICU4J on the class path: Python's NFC, as a UDF
            spark.udf.register("nfc_normalize", _nfc, "string")
        if not self.spark4:
            spark.udf.register("moviedl_json_kind", json_kind, "string")
            spark.udf.register("moviedl_json_array", json_array, "array<string>")
        self._tables: dict[str, DataFrame] = {}  # materialised temp tables, to free on drop
        self._views: set[str] = set()

    @classmethod
    def open(cls, settings: Settings | None = None, scratch: Path | None = None) -> SparkEngine:
        if settings is None:
            spark, created = session(scratch)
        else:
            spark, created = session(
                scratch, master=settings.spark_master, driver_memory=settings.spark_driver_memory
            )
        return cls(spark, owned=created, scratch=scratch, settings=settings)

    @property
    def scratch(self) -> Path:
        """A local folder for the engine's temporary files (refine's, else one of its own)."""
        if self._scratch is None:
            self._own_scratch = Path(tempfile.mkdtemp(prefix="moviedl-spark-"))
            self._scratch = self._own_scratch
        return self._scratch

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
        sql, used = statement.sql, statement.params
        if not self.spark4:
            sql, used = _collections_inline(sql, params, used)
        args = bind(params, used) or None
        if not self.spark4 and re.search(r"\*\s*EXCEPT\s*\(", sql, re.IGNORECASE):
            sql = self._star_except(sql, args)
        return self.spark.sql(sql, args=args)

    def _star_except(self, sql: str, args: dict[str, Any] | None) -> str:
        """``sql`` with each ``* EXCEPT (a, b)`` (Spark 4) written out as the columns it keeps,
        which Spark resolves for the star's ``SELECT`` (FROM, joins, the statement's CTEs)."""
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, read="spark")
        ctes = tree.args.get("with") or tree.args.get("with_")
        for star in list(tree.find_all(exp.Star)):
            excluded = star.args.get("except") or star.args.get("except_")
            select = star.find_ancestor(exp.Select)
            if not excluded or select is None:
                continue
            target: exp.Expr = star.parent if isinstance(star.parent, exp.Column) else star
            qualifier = target.args.get("table") if isinstance(target, exp.Column) else None
            probe = select.copy()
            for key in ("group", "having", "order", "limit", "offset", "qualify", "distinct", "windows"):
                probe.set(key, None)
            probe.set("expressions", [exp.Column(this=exp.Star(), table=qualifier.copy()) if qualifier
                                      else exp.Star()])
            if select is not tree and ctes is not None:
                probe.set("with", ctes.copy())
            columns = self.spark.sql(probe.sql(dialect="spark"), args=args).columns
            dropped = {e.name.lower() for e in excluded}
            kept = [exp.column(c, table=qualifier.name if qualifier else None, quoted=True)
                    for c in columns if c.lower() not in dropped]
            expressions: list[exp.Expr] = []
            for expression in select.expressions:
                expressions.extend(kept if expression is target else [expression])
            select.set("expressions", expressions)
        return tree.sql(dialect="spark")

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
            return self.dataframe(table)

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
        return self.dataframe(table)

    def dataframe(self, table: pa.Table) -> DataFrame:
        """A DataFrame of an Arrow table made on the driver (Spark 3.5 takes no Arrow table:
        from its rows, with its schema)."""
        if self.spark4:
            return self.spark.createDataFrame(table)
        from pyspark.sql.pandas.types import from_arrow_schema

        schema = from_arrow_schema(table.schema, prefer_timestamp_ntz=True)
        rows = list(zip(*(column.to_pylist() for column in table.columns), strict=True))
        return self.spark.createDataFrame(rows, schema)

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
            return self.dataframe(pa.concat_tables(tables, promote_options="permissive"))
        wanted = [c for c, _ in columns]
        parts = []
        for table in tables:
            present = [c for c in wanted if c in table.column_names]
            part = table.select(present)
            for name in wanted:
                if name not in present:
                    part = part.append_column(name, pa.nulls(part.num_rows, pa.string()))
            parts.append(part.select(wanted))
        found = self.dataframe(pa.concat_tables(parts, promote_options="permissive"))
        return found.select(*[F.col(_tick(c)).cast(SPARK_TYPES[t]).alias(c) for c, t in columns])

    def write_parquet(
        self,
        select: str,
        path: Path,
        params: Params = None,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Spark computes the rows; the driver writes them to ``path`` one batch at a time
        (:data:`MERGE_BATCH_ROWS`), from the part files the executors wrote (local mode) or
        from the partitions it fetches one by one (:attr:`outputs_on_driver`): its memory
        holds a batch, never the table. The rows keep the order Spark gives them."""
        with self._errors():
            statements = self.sql.statements(select)
            if len(statements) != 1 or statements[0].kind != "query":
                raise TranslationError("write_parquet() takes one query")
            df = self._df(statements[0], params)
            schema = nullable(arrow_schema(df.schema))
            if self.outputs_on_driver:
                return write_single(path, schema, _partition_batches(df, schema), metadata)
            parts = self.scratch / f"parts-{uuid.uuid4().hex}"
            try:
                (df.write.mode("overwrite")
                 .option("compression", "snappy")
                 .option("parquet.block.size", PART_ROW_GROUP_BYTES)
                 .parquet(_hadoop_path(str(parts))))
                return write_single(path, schema, part_batches(parts, schema), metadata)
            finally:
                shutil.rmtree(parts, ignore_errors=True)

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
        except MemoryError as exc:  # Python's side (pyarrow's allocations included)
            raise SparkOutOfMemory(f"the driver's Python process: {_first_line(exc)}") from exc
        except (PySparkException, Py4JError, ConnectionError) as exc:
            text = _text(exc)  # once: a Py4J error's text comes from the JVM, which may be going
            raise (_jvm_stopped(exc, text) or classify(exc, text)) from exc

    def out_of_memory_error(self, exc: BaseException, consequence: str = "") -> ConfigError:
        memory: str | None
        if self._owned and self._settings is not None:
            memory = self._settings.spark_driver_memory
        else:
            try:
                memory = self.spark.conf.get("spark.driver.memory", "1g")
            except Exception:  # a session that is gone
                memory = "?"
        if self._owned:  # a session this engine started: moviedl's settings sized it
            hint = ("Raise spark.driver_memory (MOVIEDL_SPARK_DRIVER_MEMORY or [spark] "
                    "driver_memory in moviedl.toml), or run refine with --engine duckdb, which "
                    "spills to disk.")
        else:  # AWS Glue's session, or one started before moviedl
            hint = ("Give the Spark session more memory (spark.driver.memory and "
                    "spark.executor.memory where it is started; on AWS Glue a bigger "
                    "glue.worker_type), or run refine with --engine duckdb, which spills to disk.")
        return ConfigError(
            f"Spark ran out of memory (spark.driver.memory = {memory}): {_first_line(exc)}{consequence}",
            hint=hint,
        )

    def close(self) -> None:
        for name in list(self._views | set(self._tables)):
            try:
                self._drop(name)
            except Exception:  # the session may already be gone
                pass
        if self._owned:
            try:
                self.spark.stop()
            except Exception:  # a JVM that already stopped (out of memory)
                pass
        if self._own_scratch is not None:
            shutil.rmtree(self._own_scratch, ignore_errors=True)
            self._own_scratch = self._scratch = None


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


def _collections_inline(sql: str, params: Params, used: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """Spark 3.5 binds only plain values: a list or mapping parameter becomes its literal in
    the statement (written by sqlglot: ``ARRAY(...)``, ``MAP_FROM_ARRAYS(...)`` in key order);
    the parameters left to bind."""
    values = params or {}
    inline = {p for p in used if isinstance(values.get(p), list | tuple | Mapping)}
    if not inline:
        return sql, used
    import sqlglot
    from sqlglot import exp

    def literal(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and node.name in inline:
            value = values[node.name]
            return exp.convert(dict(value) if isinstance(value, Mapping) else list(value))
        return node

    tree = sqlglot.parse_one(sql, read="spark").transform(literal)
    return tree.sql(dialect="spark"), tuple(p for p in used if p not in inline)


def spark_major(version: str) -> int:
    """The major version of a Spark version string ('3.5.4', '3.5.4-amzn-0', '4.1.0')."""
    found = re.match(r"\s*(\d+)", version)
    return int(found.group(1)) if found else 0


# --- JSON without VARIANT (Spark 3.5: see moviedl.spark_sql.JSON_FUNCTIONS) ----------------------


class _Int(str):
    """A JSON whole number, as written."""


class _Float(str):
    """A JSON number with a fraction or an exponent, as written."""


_MISSING = object()
_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_at(text: str | None, path: str | None) -> Any:
    """The value at ``path`` ('$.a.b', '$.a[0]') of the JSON ``text``; ``_MISSING`` when the
    text is not JSON or the path leads nowhere."""
    if text is None or path is None or not path.startswith("$"):
        return _MISSING
    try:
        value = json.loads(text, parse_int=_Int, parse_float=_Float, parse_constant=_no_constant)
    except ValueError:
        return _MISSING
    at, rest = 1, path
    while at < len(rest):
        step = _PATH_STEP.match(rest, at)
        if step is None:
            return _MISSING
        key, index, quoted = step.groups()
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
        else:
            name = key if key is not None else quoted
            if not isinstance(value, dict) or name not in value:
                return _MISSING
            value = value[name]
        at = step.end()
    return value


def _json_dump(value: Any) -> str:
    """JSON text of a parsed value, numbers as written, compact (as Spark writes a VARIANT)."""
    if isinstance(value, _Int | _Float):
        return str.__str__(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(_json_dump(v) for v in value) + "]"
    return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json_dump(v)}" for k, v in value.items()) + "}"


def json_kind(text: str | None, path: str | None) -> str | None:
    """``schema_of_variant(variant_get(try_parse_json(text), path))``'s kind of value."""
    value = _json_at(text, path)
    if value is _MISSING or value is None:
        return None
    if isinstance(value, _Int):
        return "BIGINT"
    if isinstance(value, _Float):
        return "DOUBLE"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, str):
        return "STRING"
    return "ARRAY" if isinstance(value, list) else "OBJECT"


def json_array(text: str | None, path: str | None) -> list[str] | None:
    """``try_variant_get(try_parse_json(text), path, 'array<variant>')``: each element's JSON."""
    value = _json_at(text, path)
    return [_json_dump(v) for v in value] if isinstance(value, list) else None


def arrow_type(type_: Any) -> pa.DataType:
    """A Spark SQL type as Arrow's, as pyspark's ``toArrow`` gives it (timestamps in UTC)."""
    from pyspark.sql import types as T

    simple = {
        T.StringType: pa.string(), T.IntegerType: pa.int32(), T.LongType: pa.int64(),
        T.ShortType: pa.int16(), T.ByteType: pa.int8(), T.DoubleType: pa.float64(),
        T.FloatType: pa.float32(), T.BooleanType: pa.bool_(), T.DateType: pa.date32(),
        T.BinaryType: pa.binary(), T.TimestampNTZType: pa.timestamp("us"),
        T.TimestampType: pa.timestamp("us", tz="UTC"),
    }
    for spark_type, arrow in simple.items():
        if isinstance(type_, spark_type):
            return arrow
    if isinstance(type_, T.DecimalType):
        return pa.decimal128(type_.precision, type_.scale)
    if isinstance(type_, T.ArrayType):
        return pa.list_(pa.field("element", arrow_type(type_.elementType), nullable=True))
    raise TranslationError(f"no Parquet output for a column of Spark type {type_.simpleString()}")


def arrow_schema(schema: Any) -> pa.Schema:
    """A Spark ``StructType`` as an Arrow schema (:func:`arrow_type`)."""
    return pa.schema([pa.field(f.name, arrow_type(f.dataType), nullable=True) for f in schema.fields])


def part_batches(folder: Path, schema: pa.Schema) -> Iterator[pa.Table]:
    """The rows of the part files Spark wrote to ``folder``, in the order of the parts (Spark's
    partition order: the query's ORDER BY holds across them), as tables of at most
    :data:`MERGE_BATCH_ROWS` rows cast to ``schema``."""
    for part in sorted(folder.glob("part-*.parquet")):
        with pq.ParquetFile(part) as found:
            for batch in found.iter_batches(batch_size=MERGE_BATCH_ROWS, use_threads=False):
                yield pa.Table.from_batches([batch]).cast(schema)


def _partition_batches(df: DataFrame, schema: pa.Schema) -> Iterator[pa.Table]:
    """The rows of ``df`` fetched to the driver one partition at a time (``toLocalIterator``),
    as tables of at most :data:`MERGE_BATCH_ROWS` rows of ``schema``."""
    chunk: list[tuple[Any, ...]] = []

    def table() -> pa.Table:
        columns = [pa.array([row[i] for row in chunk], type=f.type) for i, f in enumerate(schema)]
        return pa.Table.from_arrays(columns, schema=schema)

    for row in df.toLocalIterator(prefetchPartitions=False):
        chunk.append(tuple(row))
        if len(chunk) >= MERGE_BATCH_ROWS:
            yield table()
            chunk = []
    if chunk:
        yield table()


def write_single(
    path: Path, schema: pa.Schema, tables: Iterator[pa.Table], metadata: Mapping[str, str] | None
) -> int:
    """Write ``tables`` to the one Parquet file ``path`` (zstd, row groups of about
    :data:`MERGE_BATCH_ROWS` rows, ``metadata`` as its key-value metadata, no ``ARROW:schema``
    key: the footer holds what DuckDB's holds), holding at most two batches; the rows written."""
    written = 0
    try:
        with pq.ParquetWriter(path, schema, compression="zstd", store_schema=False) as out:
            pending: list[pa.Table] = []
            count = 0
            for table in tables:
                pending.append(table)
                count += table.num_rows
                if count >= MERGE_BATCH_ROWS:
                    out.write_table(pa.concat_tables(pending), row_group_size=count)
                    written += count
                    pending, count = [], 0
            if count or not written:  # an empty output still has its schema
                out.write_table(pa.concat_tables(pending) if pending else schema.empty_table(),
                                row_group_size=max(count, 1))
                written += count
            if metadata:
                out.add_key_value_metadata({str(k): str(v) for k, v in metadata.items()})
    except pa.ArrowMemoryError:
        raise
    except (OSError, pa.ArrowException) as exc:
        raise SparkError(f"{path}: {_first_line(exc)}") from None
    return written


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


def classify(exc: BaseException, text: str | None = None) -> Exception:
    """Spark's exception (whose text is ``text``, when known) as the engine's: a refusal, input,
    out of memory, or any other failure."""
    text = _text(exc) if text is None else text
    said = text.split("== SQL", 1)[0]  # a syntax error echoes the statement, its literals too
    refused = re.search(rf"(?<!')(?<!concat\(){re.escape(REFUSED)}", said)
    if refused:
        reason = said[refused.end():].splitlines()[0]
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
    message = _first_line_of(text) or type(exc).__name__
    memory = _out_of_memory(text)
    if memory is not None or condition.startswith("UNABLE_TO_ACQUIRE_MEMORY"):
        return SparkOutOfMemory(memory or message)
    if any(condition.startswith(c) for c in _INPUT_CONDITIONS):
        return SparkInputError(message)
    return SparkError(message)


#: What Spark's and the JVM's messages say when memory ran out (anywhere in the message or
#: its Java causes): the JVM's heap, a task's memory, the results the driver may collect, a
#: container a cluster manager killed for its memory.
_MEMORY = re.compile(
    r"java\.lang\.OutOfMemoryError[^\n]*|SparkOutOfMemoryError[^\n]*|Java heap space"
    r"|GC overhead limit exceeded|Total size of serialized results[^\n]*?spark\.driver\.maxResultSize[^\n]*"
    r"|Not enough memory to build and broadcast the table[^\n]*"
    r"|Container killed [^\n]*(?:memory|exit code: 137)[^\n]*|UNABLE_TO_ACQUIRE_MEMORY[^\n]*"
)


def _out_of_memory(text: str) -> str | None:
    """The line of ``text`` that says memory ran out (None when none does)."""
    found = _MEMORY.search(text)
    if found is None:
        return None
    line = found.group(0).strip()
    line = re.sub(r"^(?:Caused by: )?(?:[\w.$]+(?:Exception|Error): )+(?=\S)", "", line) or line
    return _SQLSTATE.sub("", _CLASS.sub("", line)).strip()


#: The exit code of a Spark JVM that stopped itself on an OutOfMemoryError (SparkExitCode.OOM):
#: in local mode, a task out of memory stops the whole JVM, and Python only sees its connection
#: to it refused.
_JVM_OOM_EXIT = 52
_JVM_GONE = ("Connection refused", "Answer from Java side is empty", "Error while sending or receiving",
             "Error while receiving", "Java side is empty")


def _jvm_stopped(exc: BaseException, text: str, wait: float = 5.0) -> SparkError | None:
    """When ``exc`` (whose text is ``text``) comes from the Spark JVM this process started
    having exited: why (out of memory, killed, or its exit code); else None. A connection
    refused, or an error the JVM could not describe, waits up to ``wait`` seconds for the JVM
    to finish exiting, a Java error PySpark did not convert 2 s; any other error only looks."""
    import time

    if _out_of_memory(text) is not None:
        return None  # the JVM said so itself: classify() words it
    gone = not text or isinstance(exc, ConnectionError) or any(t in text for t in _JVM_GONE)
    # a Java error PySpark did not convert (a JVM Error, not an Exception, like an OOM) while
    # the JVM may be exiting: look a moment longer (a failure path only)
    raw = type(exc).__name__ == "Py4JJavaError"
    try:
        from pyspark import SparkContext

        proc = getattr(SparkContext._gateway, "proc", None)
    except Exception:
        proc = None
    if proc is None:  # a JVM this process did not start (Glue's): nothing more to know
        return None
    deadline = time.monotonic() + (wait if gone else 2.0 if raw else 0.0)
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    code = proc.poll()
    if code is None:
        return None
    if code == _JVM_OOM_EXIT:
        return SparkOutOfMemory("java.lang.OutOfMemoryError: the Spark JVM ran out of memory and stopped")
    if code in (-9, 137):
        return SparkOutOfMemory("the Spark JVM was killed (SIGKILL), most likely by the system for lack of memory")
    return SparkError(f"the Spark JVM stopped unexpectedly (exit code {code})")


def _text(exc: BaseException) -> str:
    """``str(exc)``, or "" when that fails (a Py4J error asks the JVM, which may be gone)."""
    try:
        return str(exc)
    except Exception:
        return ""


def _first_line(exc: BaseException) -> str:
    return _first_line_of(_text(exc)) or type(exc).__name__


def _first_line_of(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return _SQLSTATE.sub("", _CLASS.sub("", lines[0].strip())) if lines else ""
