"""Raw -> Trusted: typed Parquet, one partition ``dt=YYYY-MM-DD`` per Raw ingestion date.

CSV: the engine reads every field as text with the file's own header names (so columns are matched
by name, never by position), then ``sql/trusted_csv.sql`` types them strictly, splits the comma
lists, counts and drops exact duplicate rows, and sets aside rows that cannot be typed (the
quarantine: source file, line number, the line as stored, reason).

TMDB: ``sql/trusted_tmdb_*.sql`` flatten the stored ``/movie`` and ``/tv`` answers: genre names
as a list, dates as DATE ('' -> NULL), budget/revenue as BIGINT (0 -> NULL), one row per IMDb id
(the latest fetch wins); records that cannot be typed are quarantined the same way.

Each builder writes the partition's Parquet file (zstd) into the run's staging area and returns a
:class:`~moviedl.stages.refine.publish.Staged` with its counts; nothing here publishes. The work runs on an
:class:`~moviedl.engines.base.Engine`. The SQL is DuckDB's: reading the Raw files (``read_csv``,
``read_json_objects``), the typing macros, ``rowid`` and the in-place updates are what another
engine needs its own scripts for (:func:`moviedl.engines.base.sql_for`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from moviedl.checks.csv_file import longest_line
from moviedl.checks.values import rule_problems, rules_for
from moviedl.core.contract import (
    META_DUPLICATES,
    META_QUARANTINED,
    META_ROWS_READ,
    META_SOURCES,
    TRUSTED_CSV_TABLES,
    TRUSTED_TMDB_TABLES,
    Table,
)
from moviedl.core.errors import InputFileError
from moviedl.core.sources import KINDS, RAW_CSV_KEY, RAW_TMDB_KEY, TRUSTED_KEY, SourceKind
from moviedl.engines.base import Engine, idents, scalar
from moviedl.stages.refine.publish import Staged, Workspace
from moviedl.storage.lake import Lake
from moviedl.storage.manifest import RawManifest, read_manifest

CSV_TABLES: dict[str, Table] = TRUSTED_CSV_TABLES  # kind name -> table
TMDB_TABLES: dict[str, Table] = {k.folder: TRUSTED_TMDB_TABLES[k.name] for k in KINDS}  # folder -> table
TMDB_SQL = {k.folder: f"trusted_tmdb_{k.name}" for k in KINDS}  # folder -> sql/<name>.sql
MAX_REASONS = 5


@dataclass
class RawInventory:
    """What the Raw zone holds, by ingestion date (``YYYY-MM-DD``)."""

    csv: dict[str, dict[str, str]] = field(
        default_factory=lambda: defaultdict(dict)
    )  # dt -> kind -> key
    tmdb: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: defaultdict(dict)
    )  # dt -> folder -> keys
    sizes: dict[str, str] = field(default_factory=dict)  # key -> "size:stamp" of each Raw object

    @property
    def dates(self) -> list[str]:
        return sorted(set(self.csv) | set(self.tmdb))


def raw_inventory(lake: Lake) -> RawInventory:
    inventory = RawInventory()
    for info in lake.list_objects("Raw/Local/CSV/"):
        inventory.sizes[info.key] = f"{info.size}:{info.stamp}"
        match = RAW_CSV_KEY.match(info.key)
        if match and match.group(5) == match.group(1).lower():
            inventory.csv[f"{match.group(2)}-{match.group(3)}-{match.group(4)}"][match.group(5)] = (
                info.key
            )
    for info in lake.list_objects("Raw/TMDB/JSON/"):
        inventory.sizes[info.key] = f"{info.size}:{info.stamp}"
        match = RAW_TMDB_KEY.match(info.key)
        if match:
            day = f"{match.group(2)}-{match.group(3)}-{match.group(4)}"
            inventory.tmdb[day].setdefault(match.group(1), []).append(info.key)
    return inventory


def trusted_partitions(lake: Lake, table: Table) -> dict[str, list[str]]:
    """The published partitions of a Trusted table: ``dt`` -> its Parquet keys."""
    found: dict[str, list[str]] = defaultdict(list)
    for info in lake.list_objects(f"{table.folder}/"):
        match = TRUSTED_KEY.match(info.key)
        if match and match.group(1) == table.folder:
            found[match.group(2)].append(info.key)
    return dict(sorted(found.items()))


# --- CSV --------------------------------------------------------------------------------------


def read_header(path: Path, where: str, kind: SourceKind) -> dict[str, str]:
    """The file's own header as the CSV reader's ``columns`` (every column VARCHAR, in file order)."""
    with open(path, "rb") as stream:
        first = stream.readline(1 << 16)
    text = first.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace").rstrip("\r\n")
    names = text.split("|")
    missing = [c for c in kind.columns if c not in names]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if missing or doubled:
        problem = f"lacks {', '.join(missing)}" if missing else f"repeats {', '.join(doubled)}"
        raise InputFileError(
            f"{where} line 1: the header {problem}; expected {kind.header}",
            hint="Re-ingest the file with 'moviedl ingest-csv --overwrite', which checks headers.",
        )
    return {name: "VARCHAR" for name in names}


def define_row_rules(engine: Engine, table: Table, severity: Mapping[str, str]) -> None:
    """The macro ``csv_row_problems(row)`` the Trusted SQL quarantines with: the value rules of
    :data:`moviedl.checks.values.RULES` that apply to ``table`` (less those ``checks.severity`` turns off)."""
    rules = rules_for(table.column_names, severity)
    engine.execute(
        f"CREATE OR REPLACE TEMP MACRO csv_row_problems(r) AS {rule_problems(rules, row='r')}"
    )


def build_csv(
    engine: Engine,
    ws: Workspace,
    kind: SourceKind,
    day: str,
    key: str,
    *,
    severity: Mapping[str, str] | None = None,
) -> Staged:
    """Type the Raw CSV ``key`` into the Trusted partition ``day`` (staged, not published).
    Rows that cannot be typed, or that break a value rule, are quarantined."""
    lake = ws.lake
    table = CSV_TABLES[kind.name]
    where = lake.uri_of(key)
    path = ws.input_path(key)
    columns = read_header(path, where, kind)
    manifest = read_manifest(lake, key)
    define_row_rules(engine, table, severity or {})
    params = {"path": str(path), "columns": columns, "longest_line": _longest_line(manifest, path)}
    try:
        engine.run_script("trusted_csv", params)
    except engine.input_errors as exc:
        raise InputFileError(
            f"{where}: {engine.label} could not read it as a '|'-delimited {kind.file_name}: "
            f"{str(exc).splitlines()[0]}",
            hint="Re-ingest the file with 'moviedl ingest-csv --overwrite', which checks every line.",
        ) from None
    out = Staged(table, day, ws.staged_path(table.data_key(day)), sources=[key])
    rows_read = scalar(engine, "SELECT count(*) FROM csv_typed")
    out.duplicates = scalar(engine, "SELECT coalesce(sum(copies - 1), 0) FROM csv_first")
    _quarantine(
        engine,
        ws,
        out,
        "SELECT $source AS source_file, line, raw, reason FROM csv_quarantine",
        {"source": key},
    )
    out.rows_written = engine.write_parquet_ranges(  # in file order: row_index is the line's
        f"SELECT {idents(table.column_names)} FROM csv_trusted "
        "WHERE row_index >= $lo AND row_index < $hi",
        out.path,
        rows_read,
        metadata=_lineage(out, rows_read),
    )
    if manifest is not None:
        out.rows_in, out.rows_in_label = manifest.rows, "manifest rows"
        if manifest.sha256 and lake.size(key) != manifest.size:
            out.notes.append(
                f"{where} is not the size ingest-csv recorded; run 'moviedl validate --zone raw'"
            )
    else:
        out.rows_in, out.rows_in_label = rows_read, "rows read"
        out.notes.append(f"{where} has no ingest-csv manifest: rows reconciled against rows read")
    for view in ("csv_trusted", "csv_quarantine"):
        engine.execute(f"DROP VIEW {view}")
    for name in ("csv_first", "csv_typed"):
        engine.execute(f"DROP TABLE {name}")
    return out


# --- TMDB -------------------------------------------------------------------------------------


def build_tmdb(
    engine: Engine,
    ws: Workspace,
    folder: str,
    day: str,
    keys: list[str],
    *,
    severity: Mapping[str, str] | None = None,
) -> Staged:
    """Flatten the Raw TMDB JSON files ``keys`` into the Trusted TMDB partition ``day``; records
    that cannot be typed, or that break a value rule (ratings 0–10...), are quarantined."""
    table = TMDB_TABLES[folder]
    locals_ = [str(ws.input_path(key)) for key in keys]
    try:
        engine.run_script("trusted_tmdb_read", {"files": locals_})
    except engine.input_errors as exc:
        where = ws.lake.uri_of(keys[0].rsplit("/", 1)[0] + "/")
        raise InputFileError(
            f"{where}: a TMDB JSON file could not be read: {str(exc).splitlines()[0]}",
            hint="Each file must be a JSON array of TMDB records; delete the damaged file and run "
            "'moviedl ingest-tmdb' again to fetch its titles.",
        ) from None
    engine.run_script(TMDB_SQL[folder])
    rules = rules_for(table.column_names, severity or {})
    engine.execute(f"UPDATE tmdb_typed SET reason = {rule_problems(rules)} WHERE reason IS NULL")
    engine.run_script("trusted_tmdb_finish")
    out = Staged(table, day, ws.staged_path(table.data_key(day)), sources=list(keys))
    out.rows_in = scalar(engine, "SELECT count(*) FROM tmdb_raw")
    out.rows_in_label = "records read"
    out.duplicates = scalar(
        engine, "SELECT count(*) - count(DISTINCT imdb_id) FROM tmdb_typed WHERE reason IS NULL"
    )
    _quarantine(
        engine,
        ws,
        out,
        "SELECT f.source_file, q.line, q.raw, q.reason FROM tmdb_quarantine AS q "
        "JOIN (SELECT unnest($locals) AS filename, unnest($keys) AS source_file) AS f USING (filename)",
        {"locals": locals_, "keys": list(keys)},
    )
    out.rows_written = engine.write_parquet(
        f"SELECT {idents(table.column_names)} FROM tmdb_distinct ORDER BY seq",
        out.path,
        metadata=_lineage(out, out.rows_in),
    )
    engine.execute(
        "DROP TABLE tmdb_raw; DROP TABLE tmdb_typed; DROP TABLE tmdb_quarantine; DROP TABLE tmdb_distinct"
    )
    return out


# --- shared -----------------------------------------------------------------------------------


def _longest_line(manifest: RawManifest | None, path: Path) -> int:
    """The longest line of a stored CSV (bytes), which the engine's CSV reader must accept so
    that whatever ingest-csv accepted, refine reads (the manifest records it; older lakes
    measure it here). ``sql/trusted_csv.sql`` sizes DuckDB's ``max_line_size`` from it."""
    longest = manifest.longest_line if manifest is not None else None
    if longest is None:
        longest = longest_line(path)
    return longest



def _lineage(out: Staged, rows_read: int) -> dict[str, str]:
    """The Parquet key-value metadata that lets any reader reconcile the file with Raw."""
    return {
        META_SOURCES: ",".join(out.sources),
        META_ROWS_READ: str(rows_read),
        META_DUPLICATES: str(out.duplicates or 0),
        META_QUARANTINED: str(out.quarantined or 0),
    }


def _quarantine(
    engine: Engine,
    ws: Workspace,
    out: Staged,
    select: str,
    params: dict[str, object],
) -> None:
    """Write the rows that could not be typed (if any) next to the staged partition."""
    engine.execute(f"CREATE OR REPLACE TEMP TABLE q_out AS {select}", params)
    out.quarantined = scalar(engine, "SELECT count(*) FROM q_out")
    if out.quarantined:
        key = out.quarantine_key
        assert key is not None
        out.quarantine_path = ws.staged_path(key)
        engine.write_parquet("SELECT * FROM q_out ORDER BY source_file, line", out.quarantine_path)
        out.quarantine_reasons = [
            f"{source} line {line}: {reason}"
            for source, line, reason in engine.rows(
                "SELECT source_file, line, reason FROM q_out ORDER BY source_file, line LIMIT $n",
                {"n": MAX_REASONS},
            )
        ]
    engine.execute("DROP TABLE q_out")
