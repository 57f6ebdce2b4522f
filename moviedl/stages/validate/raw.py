"""``validate``'s Raw zone checks: the stored CSVs and TMDB JSON files of one ingestion date.

CSV: each expected file is present, and streaming it once through the same
:class:`~moviedl.checks.csv_file.CsvInspector` ``ingest-csv`` runs (header, delimiter, column count,
encoding, rows) while hashing it gives the SHA-256, size and row count to compare with the
manifest ``ingest-csv`` recorded: a Raw file that changed after ingestion is an error.

TMDB: DuckDB reads every JSON file of the date at once (``sql/validate_tmdb_files.sql``): each
file parses as a JSON array, holds ≤ 100 records and ≤ 10 MB, one media type (the one its folder
calls for); no IMDb id is stored twice across the files of the date.

DuckDB-only on purpose (it takes validate's DuckDB connection, not an
:class:`~moviedl.engines.base.Engine`): a file that does not parse is reported with DuckDB's own JSON
reader error, and validate always runs on DuckDB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from moviedl.checks.csv_file import CsvInspector
from moviedl.core.sources import BY_FOLDER, TMDB_MAX_FILE_BYTES, TMDB_MAX_RECORDS, SourceKind
from moviedl.core.summary import Check, Status
from moviedl.engines.base import Engine, one, sql_for
from moviedl.storage.files import CHUNK_SIZE
from moviedl.storage.lake import Lake
from moviedl.storage.manifest import DamagedManifest, read_manifest

MAX_RECORDS = TMDB_MAX_RECORDS
MAX_FILE_BYTES = TMDB_MAX_FILE_BYTES
FOLDER_KIND = {folder: kind.tmdb_media for folder, kind in BY_FOLDER.items()}  # "Movies" -> "movie"
MAX_NAMED = 3


@dataclass
class RawResult:
    """The checks of one Raw dataset and its figures for the summary's rows."""

    target: str
    checks: list[Check] = field(default_factory=list)
    files: int = 0
    rows: int | None = None
    bytes: int | None = None


def _named(items: list[str]) -> str:
    more = f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else ""
    return ", ".join(items[:MAX_NAMED]) + more


# --- CSV --------------------------------------------------------------------------------------


def check_csv(lake: Lake, kind: SourceKind, key: str, present: bool) -> RawResult:
    """Presence, format (the ingest-csv inspection), checksum and row count of one Raw CSV."""
    result = RawResult(key)
    add = result.checks.append
    if not present:
        add(Check("present", key, "missing", Status.FAIL, f"{kind.file_name} stored for the date"))
        return result
    result.files = 1
    add(Check("present", key, "stored", Status.PASS, f"{kind.file_name} stored for the date"))
    inspector, digest = CsvInspector(lake.uri_of(key)), hashlib.sha256()
    with lake.open_read(key) as stream:
        while chunk := stream.read(CHUNK_SIZE):
            inspector.feed(chunk)
            digest.update(chunk)
    report = inspector.finish()
    result.rows, result.bytes = report.rows, report.bytes
    wrong_kind = report.kind is not None and report.kind is not kind
    problems = [*report.problems, *([f"a {report.kind.file_name} header"] if wrong_kind and report.kind else [])]
    add(
        Check(
            "csv format",
            key,
            "; ".join(p.replace(lake.uri_of(key) + ": ", "").replace(lake.uri_of(key) + " ", "")
                      for p in problems)
            or f"{report.rows:,} rows, {len(kind.columns)} columns on every row",
            Status.FAIL if problems else Status.PASS,
            f"UTF-8, '|'-delimited, the {kind.file_name} header, {len(kind.columns)} fields per row",
        )
    )
    try:
        manifest = read_manifest(lake, key)
    except DamagedManifest as exc:  # damaged lake content: a failed check, not a stop
        add(Check("manifest", key, f"{exc.where} is damaged: {exc.problem}", Status.FAIL,
                  "a manifest recorded by ingest-csv (delete a damaged one and re-ingest)"))
        return result
    if manifest is None:
        add(Check("manifest", key, "no ingest-csv manifest: checksum and rows not verifiable",
                  Status.WARN, "a manifest recorded by ingest-csv"))
        return result
    sha = digest.hexdigest()
    same = sha == manifest.sha256 and report.bytes == manifest.size
    observed = (
        f"sha256 {sha[:12]}…, {report.bytes:,} bytes as recorded"
        if same
        else f"sha256 {sha[:12]}… / {report.bytes:,} bytes, recorded {manifest.sha256[:12]}… / "
        f"{manifest.size:,} bytes: the file changed after ingestion"
    )
    add(Check("checksum", key, observed, Status.PASS if same else Status.FAIL,
              "SHA-256 and size as recorded by ingest-csv"))
    add(Check("row count", key, f"{report.rows:,} rows, recorded {manifest.rows:,}",
              Status.PASS if report.rows == manifest.rows else Status.FAIL,
              "rows as recorded by ingest-csv"))
    return result


# --- TMDB -------------------------------------------------------------------------------------


def check_tmdb(
    engine: Engine,
    lake: Lake,
    day: str,
    files: dict[str, list[tuple[str, int]]],
    local: Callable[[str], Path],
) -> list[RawResult]:
    """Checks of the TMDB JSON files of ``day``: ``files`` is folder -> [(key, size)];
    ``local(key)`` gives a local copy DuckDB can read. ``engine`` is DuckDB: the checks read the
    files with its JSON reader."""
    results: dict[str, RawResult] = {}
    readable: list[tuple[str, str, str]] = []  # (local path, key, kind)
    for folder, entries in files.items():
        target = f"Raw/TMDB/JSON/{folder}/{day.replace('-', '/')}/"
        result = results[folder] = RawResult(target, files=len(entries),
                                             bytes=sum(size for _, size in entries))
        big = [f"{key.rsplit('/', 1)[1]} ({size:,} bytes)" for key, size in entries if size > MAX_FILE_BYTES]
        result.checks.append(Check(
            "file size", target, f"too big: {_named(big)}" if big else f"{len(entries)} file(s) within the limit",
            Status.FAIL if big else Status.PASS, f"≤ {MAX_FILE_BYTES:,} bytes per file",
        ))
        unparsed = []
        for key, _size in entries:
            path = str(local(key))
            try:
                engine.rows("SELECT count(*) FROM read_json_objects($f, format = 'array')", {"f": path})
            except engine.errors as exc:
                unparsed.append(f"{key.rsplit('/', 1)[1]}: {str(exc).splitlines()[0][:120]}")
                continue
            readable.append((path, key, FOLDER_KIND[folder]))
        result.checks.append(Check(
            "json parses", target, _named(unparsed) if unparsed else f"{len(entries)} file(s) parse",
            Status.FAIL if unparsed else Status.PASS, "each file a JSON array of records",
        ))
    if not readable:
        return list(results.values())
    engine.run_script("validate_tmdb_files", {
        "files": [p for p, _, _ in readable], "keys": [k for _, k, _ in readable],
        "kinds": [kind for _, _, kind in readable],
    })
    per_file = engine.rows(
        "SELECT key, records, wrong_kind, example_kind, no_imdb_id FROM v_tmdb_files ORDER BY key"
    )
    for folder, result in results.items():
        mine = [row for row in per_file if row[0].startswith(result.target)]
        result.rows = sum(int(row[1]) for row in mine)
        full = [f"{row[0].rsplit('/', 1)[1]} ({row[1]:,})" for row in mine if row[1] > MAX_RECORDS]
        result.checks.append(Check(
            "records per file", result.target,
            f"too many records: {_named(full)}" if full else f"{result.rows:,} records in {len(mine)} file(s)",
            Status.FAIL if full else Status.PASS, f"≤ {MAX_RECORDS} records per file",
        ))
        mixed = [f"{row[0].rsplit('/', 1)[1]} ({row[2]:,} {row[3]})" for row in mine if row[2]]
        result.checks.append(Check(
            "one kind per file", result.target,
            f"records of another kind: {_named(mixed)}" if mixed else f"all {FOLDER_KIND[folder]}",
            Status.FAIL if mixed else Status.PASS, f"only media_type {FOLDER_KIND[folder]} in {folder}/",
        ))
    ids, extra, example = one(engine, sql_for("validate_tmdb_duplicates", engine.name))
    target = f"Raw/TMDB/JSON/*/{day.replace('-', '/')}/"
    both = RawResult(target, files=len(readable), rows=sum(int(row[1]) for row in per_file))
    both.checks.append(Check(
        "imdb id once", target,
        f"{int(ids):,} id(s) stored {int(extra):,} extra time(s), e.g. {example}" if ids else "no id twice",
        Status.FAIL if ids else Status.PASS, "each IMDb id in one record across the date's files",
    ))
    engine.execute("DROP TABLE v_tmdb_records; DROP TABLE v_tmdb_files")
    return [*results.values(), both]
