"""Spark's output as the one Parquet file moviedl publishes: the part files the executors wrote
(or, on a cluster, the rows of each partition) streamed batch by batch into a single zstd file
with moviedl's key-value metadata, its schema mapped to DuckDB's, so the driver holds one batch
at a time whatever the table's size. Footers are read with pyarrow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from moviedl.engines.spark.sql import TranslationError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

from moviedl.core.errors import ConfigError
from moviedl.engines.spark.errors import SparkError, _first_line

#: Rows per batch of an output's merge into its single Parquet file (and per row group of it):
#: what the driver holds of a table at a time. ``MOVIEDL_SPARK_MERGE_BATCH_ROWS`` sets another
#: (docs/scale.md): fewer rows hold less on the driver, at the cost of smaller row groups.
MERGE_BATCH_ROWS = 122_880
MERGE_BATCH_ROWS_ENV = "MOVIEDL_SPARK_MERGE_BATCH_ROWS"


def merge_batch_rows() -> int:
    """:data:`MERGE_BATCH_ROWS`, or ``$MOVIEDL_SPARK_MERGE_BATCH_ROWS`` when set: a whole number
    of rows ≥ 1, else a :class:`~moviedl.core.errors.ConfigError` naming the variable."""
    text = os.environ.get(MERGE_BATCH_ROWS_ENV, "").strip()
    if not text:
        return MERGE_BATCH_ROWS
    rows = int(text) if text.isdigit() else 0
    if rows < 1:
        raise ConfigError(
            f"{MERGE_BATCH_ROWS_ENV}={text!r} is not a number of rows (a whole number, 1 or more)",
            hint=f"Unset it for the default ({MERGE_BATCH_ROWS:,} rows), or set e.g. 16384.",
        )
    return rows


#: Row groups of the part files the executors write (bounds what one read of them holds).
PART_ROW_GROUP_BYTES = 32 * 1024 * 1024


#: Contract types (DuckDB's names) -> Spark SQL types, for empty relations of known columns.
SPARK_TYPES = {
    "VARCHAR": "STRING", "INTEGER": "INT", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE",
    "DATE": "DATE", "TIMESTAMP": "TIMESTAMP_NTZ", "BOOLEAN": "BOOLEAN", "VARCHAR[]": "ARRAY<STRING>",
}


def nullable(schema: pa.Schema) -> pa.Schema:
    """The schema with every field (and list item) nullable, as DuckDB writes Parquet."""

    def loose(type_: pa.DataType) -> pa.DataType:
        if pa.types.is_list(type_) or pa.types.is_large_list(type_):
            return pa.list_(pa.field("element", loose(type_.value_type), nullable=True))
        if pa.types.is_large_string(type_):
            return pa.string()
        return type_

    return pa.schema([pa.field(f.name, loose(f.type), nullable=True) for f in schema])


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


def part_batches(
    folder: Path, schema: pa.Schema, batch_rows: int = MERGE_BATCH_ROWS
) -> Iterator[pa.Table]:
    """The rows of the part files Spark wrote to ``folder``, in the order of the parts (Spark's
    partition order: the query's ORDER BY holds across them), as tables of at most
    ``batch_rows`` rows cast to ``schema``."""
    for part in sorted(folder.glob("part-*.parquet")):
        with pq.ParquetFile(part) as found:
            for batch in found.iter_batches(batch_size=batch_rows, use_threads=False):
                yield pa.Table.from_batches([batch]).cast(schema)


def _partition_batches(
    df: DataFrame, schema: pa.Schema, batch_rows: int = MERGE_BATCH_ROWS
) -> Iterator[pa.Table]:
    """The rows of ``df`` fetched to the driver one partition at a time (``toLocalIterator``),
    as tables of at most ``batch_rows`` rows of ``schema``."""
    chunk: list[tuple[Any, ...]] = []

    def table() -> pa.Table:
        columns = [pa.array([row[i] for row in chunk], type=f.type) for i, f in enumerate(schema)]
        return pa.Table.from_arrays(columns, schema=schema)

    for row in df.toLocalIterator(prefetchPartitions=False):
        chunk.append(tuple(row))
        if len(chunk) >= batch_rows:
            yield table()
            chunk = []
    if chunk:
        yield table()


def write_single(
    path: Path,
    schema: pa.Schema,
    tables: Iterator[pa.Table],
    metadata: Mapping[str, str] | None,
    batch_rows: int = MERGE_BATCH_ROWS,
) -> int:
    """Write ``tables`` to the one Parquet file ``path`` (zstd, row groups of about
    ``batch_rows`` rows, ``metadata`` as its key-value metadata, no ``ARROW:schema``
    key: the footer holds what DuckDB's holds), holding at most two batches; the rows written."""
    written = 0
    try:
        with pq.ParquetWriter(path, schema, compression="zstd", store_schema=False) as out:
            pending: list[pa.Table] = []
            count = 0
            for table in tables:
                pending.append(table)
                count += table.num_rows
                if count >= batch_rows:
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
