"""Table definitions from the data: what each Trusted and Refined table holds, checked, as DDL.

:func:`inspect_tables` lists every table folder of the lake, reads the schema of each published
Parquet file from its footer (a local file in place; on S3 only the footer's byte ranges are
fetched, never the whole object), and checks it against the contract
(:mod:`moviedl.core.contract`). A table whose files do not match yields a failing check and no
definition: wrong DDL is never emitted.

:class:`TableDef` is the one description of an external table that every output is made from:
Athena DDL (:func:`athena_table`), DuckDB views (:func:`duckdb_table`) and the Glue
``TableInput`` (:mod:`moviedl.stages.catalog.register`). Trusted tables are partitioned by ``dt`` with partition
projection, so Athena finds new ingestion dates without crawlers or ``MSCK REPAIR``.

DuckDB-only on purpose (it takes a DuckDB connection, not an :class:`~moviedl.engines.base.Engine`):
the contract's types are DuckDB type names, and :func:`parquet_schema` lets DuckDB name the types
of an Arrow schema read from a footer; athena-ddl checks its views in DuckDB too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath

import pyarrow.parquet as pq

from moviedl.checks.audit import schema_difference
from moviedl.core.contract import PARTITION_COLUMN, Table, athena_type
from moviedl.core.summary import Check, Status
from moviedl.engines import duck
from moviedl.storage.lake import Lake, ObjectInfo

_DT_FOLDER = re.compile(rf"^{PARTITION_COLUMN}=(\d{{4}}-\d{{2}}-\d{{2}})$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


class Dialect(StrEnum):
    athena = "athena"
    duckdb = "duckdb"


# --- what the lake holds ----------------------------------------------------------------------


@dataclass
class FoundTable:
    """One contract table as found in the lake: its files, partitions, schema and checks."""

    table: Table
    files: list[ObjectInfo] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)  # dt values, sorted (Trusted tables)
    schema: list[tuple[str, str]] = field(default_factory=list)  # (column, DuckDB type) as written
    checks: list[Check] = field(default_factory=list)

    @property
    def present(self) -> bool:
        return bool(self.files)

    @property
    def ok(self) -> bool:
        return self.present and all(c.status is not Status.FAIL for c in self.checks)


def inspect_tables(lake: Lake, tables: Sequence[Table], con: duck.Connection) -> list[FoundTable]:
    """Find each table's published Parquet files and check their layout and schema."""
    return [_inspect(lake, table, con) for table in tables]


def _inspect(lake: Lake, table: Table, con: duck.Connection) -> FoundTable:
    found = FoundTable(table)
    prefix = table.prefix()
    others: list[str] = []
    misplaced: list[str] = []
    for info in lake.list_objects(prefix):
        rest = PurePosixPath(info.key[len(prefix):])
        if any(part.startswith(("_", ".")) for part in rest.parts):
            continue  # hidden files: Athena, Spark and DuckDB globs skip them too
        if not info.key.endswith(".parquet"):
            others.append(info.key)
            continue
        if table.partitioned:
            match = _DT_FOLDER.match(rest.parts[0]) if len(rest.parts) == 2 else None
            if match is None or not _valid_date(match.group(1)):
                misplaced.append(info.key)
                continue
            found.partitions.append(match.group(1))
        found.files.append(info)
    found.partitions = sorted(set(found.partitions))
    if not found.files and not misplaced:
        return found
    target = lake.uri_of(prefix)
    if table.partitioned:
        expected = f"every Parquet file in {PARTITION_COLUMN}=YYYY-MM-DD/ directly under the folder"
        found.checks.append(Check(
            "partition layout", table.name,
            _listed(misplaced, "file(s) outside a partition folder") if misplaced
            else f"{len(found.partitions)} partition(s), {found.partitions[0]} to {found.partitions[-1]}",
            Status.FAIL if misplaced else Status.PASS, expected,
        ))
    if others:
        found.checks.append(Check(
            "only Parquet files", table.name, _listed(others, "other file(s)"), Status.WARN,
            f"only Parquet files in {target} (Athena reads every file there)",
        ))
    found.checks.append(_schema_check(lake, found, con))
    return found


def _valid_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _listed(keys: Sequence[str], what: str) -> str:
    shown = ", ".join(keys[:3])
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return f"{len(keys)} {what}: {shown}{more}"


def _schema_check(lake: Lake, found: FoundTable, con: duck.Connection) -> Check:
    """Every file has the contract's columns and types, in order (read from Parquet footers)."""
    expected = list(found.table.schema)
    label = f"{len(expected)} columns as in the contract"
    for info in found.files:
        try:
            actual = parquet_schema(lake, info, con)
        except (OSError, ValueError, duck.Error) as exc:  # pyarrow raises ArrowInvalid (a ValueError)
            return Check("schema", found.table.name, f"{info.key}: not readable as Parquet ({exc})",
                         Status.FAIL, label)
        if actual != expected:
            return Check("schema", found.table.name, f"{info.key}: {schema_difference(actual, expected)}",
                         Status.FAIL, label)
        found.schema = actual
    return Check("schema", found.table.name, f"{len(found.files)} file(s) as in the contract",
                 Status.PASS, label)


def parquet_schema(lake: Lake, info: ObjectInfo, con: duck.Connection) -> list[tuple[str, str]]:
    """The (column, DuckDB type) pairs of a lake Parquet file, read from its footer only."""
    source = lake.ranged_source(info.key, info.size)
    arrow_schema = pq.ParquetFile(source, coerce_int96_timestamp_unit="us").schema_arrow
    con.register("_moviedl_schema_probe", arrow_schema.empty_table())
    try:
        rows = con.execute("DESCRIBE SELECT * FROM _moviedl_schema_probe").fetchall()
    finally:
        con.unregister("_moviedl_schema_probe")
    return [(str(name), str(type_)) for name, type_, *_ in rows]


@dataclass(frozen=True)
class Statement:
    """One statement of the output: what it defines, of what kind, and its text (no final ';')."""

    object: str  # "moviedl.trusted_movies"
    kind: str  # "database" | "table" | "projection range" | "view"
    sql: str
    doc: str = ""


# --- one external table, described once --------------------------------------------------------


@dataclass(frozen=True)
class ColumnDef:
    name: str
    type: str  # Athena / Hive type: string, int, bigint, double, date, timestamp, array<string>
    comment: str = ""


@dataclass(frozen=True)
class TableDef:
    """An external table over a lake folder, as Athena, Glue and DuckDB need it."""

    database: str
    name: str
    location: str  # the folder of the published data, ending with "/"
    columns: tuple[ColumnDef, ...]
    partition_keys: tuple[ColumnDef, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)
    zone: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"


def location_of(base: str, key: str) -> str:
    """``key`` (a lake folder or file) under ``base`` (``s3://bucket/prefix`` or a local folder)."""
    return f"{base.rstrip('/')}/{key}"


def table_def(found: FoundTable, database: str, base: str) -> TableDef:
    """The definition of a checked table whose data lives under ``base``."""
    if not found.ok:
        raise ValueError(f"{found.table.name} did not pass its checks")
    table = found.table
    docs = {c.name: c.doc.replace("'", '"') for c in table.columns}  # no quote to escape in DDL
    columns = tuple(ColumnDef(name, athena_type(type_), docs.get(name, "")) for name, type_ in found.schema)
    location = location_of(base, table.prefix())
    parameters = {"classification": "parquet"}
    partition_keys: tuple[ColumnDef, ...] = ()
    if table.partitioned:
        partition_keys = (ColumnDef(PARTITION_COLUMN, "string", "ingestion date, YYYY-MM-DD"),)
        parameters.update(projection_parameters(found.partitions[0], location))
    return TableDef(database, table.name, location, columns, partition_keys, parameters, table.zone)


def projection_parameters(first_dt: str, location: str) -> dict[str, str]:
    """Partition projection for ``dt``: every day from the first ingestion date to today.

    Athena computes the partitions from these properties (no crawler, no ``MSCK REPAIR``); a day
    without a folder is simply empty. A date ingested later than today's run is found without
    any change; only a back-filled date *before* ``first_dt`` needs the DDL run again.
    """
    col = PARTITION_COLUMN
    return {
        "projection.enabled": "true",
        f"projection.{col}.type": "date",
        f"projection.{col}.format": "yyyy-MM-dd",
        f"projection.{col}.range": f"{first_dt},NOW",
        f"projection.{col}.interval": "1",
        f"projection.{col}.interval.unit": "DAYS",
        "storage.location.template": f"{location}{col}=${{{col}}}/",
    }


# --- Athena DDL (Hive DDL: backquoted identifiers, backslash-escaped strings) ------------------


def ident(name: str) -> str:
    """A backquoted lowercase identifier; names come from the contract and the config."""
    if not _NAME.match(name):
        raise ValueError(f"not a lowercase identifier: {name!r}")
    return f"`{name}`"


def hive_string(text: str) -> str:
    """A Hive DDL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def athena_database(database: str) -> str:
    return f"CREATE DATABASE IF NOT EXISTS {ident(database)}"


def athena_table(tdef: TableDef) -> str:
    """``CREATE EXTERNAL TABLE IF NOT EXISTS`` for ``tdef``."""
    lines = [f"CREATE EXTERNAL TABLE IF NOT EXISTS {ident(tdef.database)}.{ident(tdef.name)} ("]
    lines.append(",\n".join(f"  {_column(c)}" for c in tdef.columns))
    lines.append(")")
    if tdef.partition_keys:
        lines.append(f"PARTITIONED BY ({', '.join(_column(c) for c in tdef.partition_keys)})")
    lines.append("STORED AS PARQUET")
    lines.append(f"LOCATION {hive_string(tdef.location)}")
    lines.append("TBLPROPERTIES (")
    lines.append(",\n".join(f"  {hive_string(k)}={hive_string(v)}" for k, v in tdef.parameters.items()))
    lines.append(")")
    return "\n".join(lines)


def athena_projection_update(tdef: TableDef) -> str | None:
    """``ALTER TABLE ... SET TBLPROPERTIES`` with the projection range: ``IF NOT EXISTS`` keeps
    an existing table as it is, so a re-run still moves its first date (after a back-fill)."""
    keys = [k for k in tdef.parameters if k.startswith("projection.") and k.endswith(".range")]
    if not keys:
        return None
    props = ", ".join(f"{hive_string(k)}={hive_string(tdef.parameters[k])}" for k in keys)
    return f"ALTER TABLE {ident(tdef.database)}.{ident(tdef.name)} SET TBLPROPERTIES ({props})"


def _column(column: ColumnDef) -> str:
    comment = f" COMMENT {hive_string(column.comment)}" if column.comment else ""
    return f"{ident(column.name)} {column.type}{comment}"


# --- DuckDB: views over the Parquet files ------------------------------------------------------


def duckdb_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_table(tdef: TableDef) -> str:
    """``CREATE OR REPLACE VIEW`` reading every Parquet file of the table, as DuckDB runs it.

    Trusted tables get the ``dt`` column from their folder names, as a string as in Athena.
    """
    glob = duckdb_string(f"{tdef.location}**/*.parquet")
    if tdef.partition_keys:
        types = ", ".join(f"{duckdb_string(c.name)}: 'VARCHAR'" for c in tdef.partition_keys)
        source = f"read_parquet({glob}, hive_partitioning = true, hive_types = {{{types}}})"
    else:
        source = f"read_parquet({glob}, hive_partitioning = false)"
    return f"CREATE OR REPLACE VIEW {_duck_ident(tdef.name)} AS\nSELECT * FROM {source}"


def _duck_ident(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a lowercase identifier: {name!r}")
    return name
