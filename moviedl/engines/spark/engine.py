"""Apache Spark for moviedl: :class:`SparkEngine`, the :class:`~moviedl.engines.base.Engine` behind
``moviedl refine --engine spark`` (optional: ``pip install 'moviedl[spark]'``, Java 17 or 21).

It runs the same SQL as the DuckDB engine: each statement is translated by
:class:`moviedl.engines.spark.sql.Translator` (sqlglot, DuckDB -> Spark, plus the rules sqlglot
cannot know), or comes from a file's own Spark text (``moviedl/sql/<name>.spark.sql``). What Spark
SQL has no statement for, the engine does with Spark's DataFrame API, and nothing more:

* ``CREATE TEMP TABLE x AS ...``: the result is materialised (``localCheckpoint``) and registered
  as the view ``x``; ``UPDATE`` materialises it again with the column replaced; ``DROP`` frees it.
* ``read_lines(:path)``: a text file's lines with their numbers, as DuckDB's ``read_csv``
  counts them; ``read_json_records(:files)``: each JSON array record as the exact text stored
  (:mod:`moviedl.engines.spark.inputs`).
* Input files are read by the executors where they are (a local lake's folder, which a cluster's
  workers mount at the same path); only files in refine's private workspace (copies of an S3
  lake's objects) are read by the driver when Spark is not local (:meth:`SparkEngine.driver_only`).
* Outputs are written by the executors as part files beside the staged file and streamed into
  the one zstd file batch by batch (:mod:`moviedl.engines.spark.arrow`); an output staged in the
  driver's private workspace on a cluster comes one partition at a time through the driver.

Spark 3.5 (AWS Glue 5.0) and 4: on 3.5 (:attr:`SparkEngine.spark4` false) the engine replaces what
only Spark 4 has: VARIANT JSON functions (:mod:`moviedl.engines.spark.json_functions`), ``SELECT *
EXCEPT`` (written out), list and map parameters (inlined) and DataFrames from Arrow (from rows).
The session is :mod:`moviedl.engines.spark.session`'s; failures are
:mod:`moviedl.engines.spark.errors`'.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from moviedl.core.errors import ConfigError, DiskFullError
from moviedl.engines.base import Params, ident, sql_for
from moviedl.engines.spark.sql import Statement, TranslationError, Translator, bind

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from moviedl.core.config import Settings
from moviedl.core.scratch import ScratchDir
from moviedl.engines.spark.arrow import (
    PART_ROW_GROUP_BYTES,
    SPARK_TYPES,
    _partition_batches,
    _pyarrow_errors,
    arrow_schema,
    duckdb_type,
    merge_batch_rows,
    nullable,
    part_batches,
    write_single,
)
from moviedl.engines.spark.errors import (
    SparkError,
    SparkInputError,
    SparkOutOfMemory,
    SparkRefusal,
    _first_line,
    _jvm_stopped,
    _text,
    classify,
)
from moviedl.engines.spark.inputs import hadoop_path, read_json, read_lines
from moviedl.engines.spark.json_functions import json_array, json_kind
from moviedl.engines.spark.session import SQL_CONF, session, spark_major


class SparkEngine:
    """The :class:`~moviedl.engines.base.Engine` on a Spark session (see the module docstring)."""

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
        #: Spark runs in this process's JVM (``local[N]``): executors open whatever the driver can
        self.local = str(spark.sparkContext.master).startswith("local")
        #: Who reads input files and writes outputs, when not None (tests force both ways).
        #: None, the default: the executors, straight from the lake (a local lake's own folder,
        #: which on a cluster must be mounted at the same path on every worker), except files
        #: in refine's private workspace on the driver's machine (copies of an S3 lake's
        #: objects) when Spark is not local: those the driver reads and writes itself.
        if inputs_on_driver is None:
            inputs_on_driver = self.INPUTS_ON_DRIVER
        if outputs_on_driver is None:
            outputs_on_driver = self.OUTPUTS_ON_DRIVER
        self.inputs_on_driver = inputs_on_driver
        self.outputs_on_driver = outputs_on_driver
        self._scratch = scratch
        self._own_scratch: ScratchDir | None = None
        #: rows per batch of an output's merge on the driver (``$MOVIEDL_SPARK_MERGE_BATCH_ROWS``)
        self.merge_batch_rows = merge_batch_rows()
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
        merge_batch_rows()  # a bad $MOVIEDL_SPARK_MERGE_BATCH_ROWS fails before Spark starts
        if settings is None:
            spark, created = session(scratch)
        else:
            spark, created = session(
                scratch, master=settings.spark_master, driver_memory=settings.spark_driver_memory
            )
        return cls(spark, owned=created, scratch=scratch, settings=settings)

    def driver_only(self, path: str | Path, forced: bool | None) -> bool:
        """Whether the driver must read (or write) ``path`` itself: ``forced`` when set; else
        only a file of refine's private workspace (beside :attr:`scratch`) on a cluster."""
        if forced is not None:
            return forced
        if self.local or self._scratch is None:
            return False
        return Path(os.path.abspath(path)).is_relative_to(self._scratch.resolve().parent)

    @property
    def scratch(self) -> Path:
        """A local folder for the engine's temporary files (refine's, else one of its own)."""
        if self._scratch is None:
            self._own_scratch = ScratchDir("spark")
            self._scratch = self._own_scratch.path
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
            paths = [str(value)] if reader == "read_lines" else [str(v) for v in value]
            on_driver = any(self.driver_only(path, self.inputs_on_driver) for path in paths)
            if reader == "read_lines":
                frame = read_lines(self.spark, paths[0], on_driver=on_driver, dataframe=self.dataframe)
            else:
                frame = read_json(self.spark, paths, on_driver=on_driver, dataframe=self.dataframe)
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

    # --- reading input files (moviedl.engines.spark.inputs) ----------------------------------

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
        if not self.driver_only(files[0], self.inputs_on_driver):
            reader = self.spark.read.option("mergeSchema", "false")
            if schema is not None:
                reader = reader.schema(schema)
            return reader.parquet(*[hadoop_path(f) for f in files])
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
        (:attr:`merge_batch_rows`), from the part files the executors wrote (local mode) or
        from the partitions it fetches one by one (:attr:`outputs_on_driver`): its memory
        holds a batch, never the table. The rows keep the order Spark gives them."""
        with self._errors(), _on_full_disk(path):
            statements = self.sql.statements(select)
            if len(statements) != 1 or statements[0].kind != "query":
                raise TranslationError("write_parquet() takes one query")
            df = self._df(statements[0], params)
            schema = nullable(arrow_schema(df.schema))
            if self.driver_only(path, self.outputs_on_driver):
                batches = _partition_batches(df, schema, self.merge_batch_rows)
                return write_single(path, schema, batches, metadata, self.merge_batch_rows)
            parts = path.parent / f"_parts-{uuid.uuid4().hex}"  # where the executors reach
            try:
                (df.write.mode("overwrite")
                 .option("compression", "snappy")
                 .option("parquet.block.size", PART_ROW_GROUP_BYTES)
                 .parquet(hadoop_path(str(parts))))
                batches = part_batches(parts, schema, self.merge_batch_rows)
                return write_single(path, schema, batches, metadata, self.merge_batch_rows)
            finally:
                shutil.rmtree(parts, ignore_errors=True)

    def write_parquet_ranges(
        self,
        select: str,
        path: Path,
        rows: int,
        params: Params = None,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """One range, the whole index: Spark's executors already share the work out."""
        return self.write_parquet(select, path, {**(params or {}), "lo": 0, "hi": rows}, metadata=metadata)

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
        except OSError as exc:  # the driver writing a file (the merged output) on a full disk
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise DiskFullError(str(exc.filename or "refine's scratch folder")) from exc

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
            self._own_scratch.close()
            self._own_scratch = self._scratch = None


@contextmanager
def _on_full_disk(path: Path) -> Iterator[None]:
    """The driver's write of ``path`` refused for lack of space as a DiskFullError naming it."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or isinstance(exc, ConnectionError):
            raise
        raise DiskFullError(str(exc.filename or path)) from exc


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
