"""What the Spark engine reads for refine's SQL besides Parquet: ``read_lines(:path)``, a text
file's lines numbered as DuckDB's ``read_csv`` counts them, and ``read_json_records(:files)``, each
record of each file's JSON array as the exact text stored. The executors read the files from
where they are (a local lake's own folder); only a file of refine's private workspace on a
cluster (a copy of an S3 object) is read by the driver (:meth:`SparkEngine.driver_only`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from moviedl.engines.spark.errors import SparkInputError
from moviedl.engines.spark.json_functions import file_records

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: makes a DataFrame of an Arrow table built on the driver (:meth:`SparkEngine.dataframe`)
ToFrame = Callable[[pa.Table], "DataFrame"]


def read_lines(spark: SparkSession, path: str, *, on_driver: bool, dataframe: ToFrame) -> DataFrame:
    """(line, value): the file's non-empty lines and their numbers among them (the header
    is line 1), a trailing CR removed; numbered in parallel from each split's offset (or
    read on the driver, ``on_driver``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if on_driver:
        try:
            content = Path(path).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SparkInputError(f"{path}: {exc}") from None
        lines = [line.removesuffix("\r") for line in content.split("\n")]
        values = [line for line in lines if line]
        table = pa.table({"line": pa.array(range(1, len(values) + 1), pa.int64()),
                          "value": pa.array(values, pa.string())})
        return dataframe(table)

    text = (
        spark.read.option("lineSep", "\n").text(hadoop_path(path))
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


def read_json(spark: SparkSession, files: list[str], *, on_driver: bool, dataframe: ToFrame) -> DataFrame:
    """(file_index, filename, record, json): each element of each file's top-level JSON
    array, as the exact text stored (:func:`~moviedl.engines.spark.json_functions.file_records`):
    read by the executors, each file whole (or on the driver, ``on_driver``)."""
    if files and not on_driver:
        return _read_json_on_executors(spark, files)
    names, indexes, records, texts = [], [], [], []
    for index, path in enumerate(files):
        try:
            content = Path(path).read_bytes()
        except OSError as exc:
            raise SparkInputError(f"{path}: {exc}") from None
        elements, error = file_records(content)  # as the executors parse each file
        if elements is None:
            raise SparkInputError(f"{path}: {error}")
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
    return dataframe(table)


def _read_json_on_executors(spark: SparkSession, files: list[str]) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    parsed = F.udf(file_records, StructType([
        StructField("records", ArrayType(StringType())), StructField("error", StringType()),
    ]))
    index = {os.path.abspath(f): (i, f) for i, f in enumerate(files)}
    read = (
        spark.read.format("binaryFile").load([hadoop_path(f) for f in files])
        .select(F.col("path"), parsed(F.col("content")).alias("parsed"))
    ).localCheckpoint(eager=True)
    reported = {_local_path(path): (path, error) for path, error in
                read.select("path", "parsed.error").collect()}
    for local, (_path, error) in reported.items():
        if error is not None:
            raise SparkInputError(f"{index.get(local, (0, local))[1]}: {error}")
    missing = [f for f in files if os.path.abspath(f) not in reported]
    if missing:
        raise SparkInputError(f"{missing[0]}: no such file")
    # each file as Spark names it -> (its index, its name as given)
    names = F.create_map(*[x for local, (path, _e) in reported.items() for x in (
        F.lit(path), F.struct(F.lit(index[local][0]).cast("bigint").alias("i"),
                              F.lit(index[local][1]).alias("f")))])
    return (
        read.select(names[F.col("path")].alias("file"),
                    F.posexplode(F.col("parsed.records")).alias("at", "json"))
        .select(F.col("file.i").alias("file_index"), F.col("file.f").alias("filename"),
                (F.col("at") + 1).cast("bigint").alias("record"), "json")
    )


def hadoop_path(path: str) -> str:
    """A local path as Spark reads it: an absolute file URI, glob characters escaped."""
    absolute = os.path.abspath(path)
    return "file://" + re.sub(r"([*?\[\]{}\\])", r"\\\1", absolute)


def _local_path(uri: str) -> str:
    """The local path of a ``file:`` URI as Spark reports a file it read."""
    from urllib.parse import unquote, urlparse

    return os.path.abspath(unquote(urlparse(uri).path))
