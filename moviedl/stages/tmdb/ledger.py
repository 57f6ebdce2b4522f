"""What ``ingest-tmdb`` has done so far, kept so that any interruption can be resumed safely.

The ledger is a set of JSON Lines files under ``_moviedl/tmdb/ledger/``; each line is one
entry ``{imdb_id, status, media_type, tmdb_id, date, file, recorded_at, error}`` with ``status`` one of
``fetched`` (the record is in the Raw JSON ``file``), ``not_found`` or ``failed``; ``sync`` and
``synced`` entries (with ``window_start``/``window_end``) record a changes-feed sync beginning
and ending (:mod:`moviedl.stages.tmdb.changes`).

Crash safety rests on one order of writes: a Raw JSON batch file is written (atomically)
*first*, then a small ledger *segment* naming its ids. A ``kill -9`` between the two leaves a
Raw file the ledger does not know: :meth:`Ledger.adopt_orphans` finds such files on the next
start and records their ids, so they are neither fetched again nor written twice. At the end of a
run the segments are merged into one file per run (:meth:`Ledger.compact`); a crash during the
merge only leaves entries recorded twice, which is harmless (the ledger is a set).

The ledger is also reconciled the other way: an entry naming a Raw file that no longer exists
(a damaged file deleted by hand, as ``refine`` advises) is dropped when the ledger is loaded, so
its ids are fetched again — only those (:attr:`Ledger.missing_files`, :attr:`Ledger.missing_ids`).
At the end of that run the whole ledger is rewritten without them (:meth:`Ledger.compact`; a
crash before the old files are deleted leaves them to be dropped again next time).

Loaded into ingest-tmdb's DuckDB connection (DuckDB-only on purpose, like :mod:`moviedl.stages.tmdb.ingest`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from moviedl.core.errors import InputFileError
from moviedl.core.sources import KINDS, RAW_TMDB_FILE, RAW_TMDB_PREFIX
from moviedl.engines import duck
from moviedl.engines.base import sql_for
from moviedl.storage.lake import STATE_PREFIX, Lake

LEDGER_PREFIX = f"{STATE_PREFIX}/tmdb/ledger/"
SEGMENT_PREFIX = f"{LEDGER_PREFIX}segments/"
MEDIA_FOLDERS = {k.tmdb_media: k.folder for k in KINDS}  # "movie" -> "Movies"
MAX_RUN_FILES = 16  # more per-run ledger files than this are merged into one
RAW_FILE = RAW_TMDB_FILE


@dataclass(frozen=True)
class Entry:
    imdb_id: str
    status: str  # fetched | not_found | failed
    date: dt.date
    media_type: str | None = None
    tmdb_id: int | None = None
    file: str | None = None
    recorded_at: str | None = None
    error: str | None = None
    window: tuple[dt.date, dt.date] | None = None  # sync / synced: the change lists' window

    def to_json(self) -> str:
        entry = {
            "imdb_id": self.imdb_id, "status": self.status, "media_type": self.media_type,
            "tmdb_id": self.tmdb_id, "date": self.date.isoformat(), "file": self.file,
            "recorded_at": self.recorded_at, "error": self.error,
        }
        if self.window is not None:
            entry.update(window_start=self.window[0].isoformat(), window_end=self.window[1].isoformat())
        return json.dumps(entry, ensure_ascii=False)


class Ledger:
    """The ledger of one lake, loaded into the DuckDB table ``ledger`` of ``con``.

    ``workdir`` is a private temporary folder: S3 objects are copied there before DuckDB
    reads them (no httpfs), and this run's segments are kept there for the final merge.
    """

    def __init__(self, lake: Lake, con: duck.Connection, workdir: Path, run_id: str) -> None:
        self.lake = lake
        self.con = con
        self.workdir = workdir
        self.run_id = run_id
        self._local: dict[str, Path] = {}  # ledger key -> readable local file
        self._segments: list[str] = []  # segment keys, earlier runs' leftovers included
        self._run_files: list[str] = []
        self._written = 0
        self.raw_files: list[str] = []  # every Raw TMDB JSON key in the lake
        self.missing_files: list[str] = []  # Raw files the ledger names that no longer exist
        self.missing_ids: set[str] = set()  # ids recorded as fetched into one of those

    # --- loading --------------------------------------------------------------------------
    def load(self) -> None:
        """Read every ledger file into the table ``ledger``; list the Raw TMDB files."""
        self.con.execute(sql_for("tmdb_ledger_table", "duckdb"))
        for info in self.lake.list_objects(LEDGER_PREFIX):
            if not info.key.endswith(".jsonl"):
                continue
            (self._segments if info.key.startswith(SEGMENT_PREFIX) else self._run_files).append(info.key)
            self._local[info.key] = self._readable(info.key)
        self._insert(self._local.values())
        self.raw_files = [info.key for info in self.lake.list_objects(RAW_TMDB_PREFIX) if RAW_FILE.fullmatch(info.key)]
        self._forget_missing()

    def _forget_missing(self) -> None:
        """Drop the entries whose Raw file is gone: their ids count as never fetched."""
        present = set(self.raw_files)
        named = self.con.execute("SELECT DISTINCT file FROM ledger WHERE file IS NOT NULL").fetchall()
        self.missing_files = sorted(file for (file,) in named if file not in present)
        if not self.missing_files:
            return
        params = {"files": self.missing_files}
        self.missing_ids = {row[0] for row in self.con.execute(
            "SELECT DISTINCT imdb_id FROM ledger WHERE status = 'fetched' AND list_contains($files, file)",
            params).fetchall()}
        self.con.execute("DELETE FROM ledger WHERE list_contains($files, file)", params)

    def _readable(self, key: str) -> Path:
        return self.lake.local_path(key, self.workdir / "lake")

    def _insert(self, paths: Iterable[Path]) -> None:
        files = [str(p) for p in paths]
        if files:
            self.con.execute(sql_for("tmdb_ledger_insert", "duckdb"), {"files": files})

    # --- reconciling with the Raw zone ----------------------------------------------------
    def adopt_orphans(self) -> int:
        """Record the ids of Raw TMDB files the ledger does not know; returns the file count."""
        known = {row[0] for row in self.con.execute(
            "SELECT DISTINCT file FROM ledger WHERE file IS NOT NULL").fetchall()}
        orphans = [key for key in self.raw_files if key not in known]
        if not orphans:
            return 0
        root = self.lake.local_root(self.workdir / "lake")
        paths = [str(self._readable(key)) for key in orphans]
        query = sql_for("tmdb_orphans", "duckdb")
        try:
            rows = self.con.execute(query, {"files": paths, "root": f"{root}/"}).fetchall()
        except duck.Error as whole:
            for key, path in zip(orphans, paths, strict=True):  # name the culprit
                try:
                    self.con.execute(query, {"files": [path], "root": f"{root}/"}).fetchall()
                except duck.Error as exc:
                    raise InputFileError(
                        f"{self.lake.uri_of(key)} is not a JSON array of TMDB records "
                        f"({str(exc).splitlines()[0]}); move it out of Raw/TMDB/JSON and run again"
                    ) from None
            raise InputFileError(
                f"the Raw TMDB files of {self.lake.uri} cannot be read together "
                f"({str(whole).splitlines()[0]})"
            ) from None
        now = _now()
        entries = [Entry(imdb_id, "fetched", date, media, tmdb_id, file, fetched_at or now)
                   for imdb_id, media, tmdb_id, file, date, fetched_at in rows]
        files_with_ids = {e.file for e in entries}
        entries += [Entry("", "file", _date_of(key), file=key, recorded_at=now)  # known, even if empty
                    for key in orphans if key not in files_with_ids]
        self.record(entries)
        return len(orphans)

    # --- recording ------------------------------------------------------------------------
    def record(self, entries: Sequence[Entry]) -> None:
        """Write one segment (atomically) with ``entries``; call after their Raw file exists."""
        if not entries:
            return
        self._written += 1
        key = f"{SEGMENT_PREFIX}{self.run_id}-{self._written:06d}.jsonl"
        local = self.workdir / "segments" / key.rsplit("/", 1)[1]
        local.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(e.to_json() + "\n" for e in entries).encode("utf-8")
        local.write_bytes(data)
        self.lake.write_bytes(key, data)
        self._segments.append(key)
        self._local[key] = local
        self._insert([local])

    # --- end of run ----------------------------------------------------------------------
    def compact(self) -> None:
        """Merge the segments (and, past :data:`MAX_RUN_FILES`, the run files) into one file.

        When entries named Raw files that no longer exist, every ledger file is merged, from
        the loaded table that no longer holds them: the ledger is clean again.
        """
        sources = list(self._segments)
        rewrite = bool(self.missing_files)
        if rewrite or len(self._run_files) + 1 > MAX_RUN_FILES:
            sources += self._run_files
        if not sources:
            return
        merged = self.workdir / f"{self.run_id}.jsonl"
        if rewrite:
            self.con.execute(_MERGE_TABLE, {"out": str(merged)})
        else:
            self.con.execute(sql_for("tmdb_ledger_merge", "duckdb"),
                             {"files": [str(self._local[k]) for k in sources], "out": str(merged)})
        key = f"{LEDGER_PREFIX}{self.run_id}.jsonl"
        self.lake.upload_file(merged, key)
        for old in sources:
            if old != key:
                self.lake.delete(old)
        self._segments = []
        self._run_files = [k for k in self._run_files if k not in sources] + [key]

    def duplicates(self, date: dt.date) -> list[str]:
        """Ids recorded in more than one Raw file of ``date`` (should be none)."""
        rows = self.con.execute(sql_for("tmdb_ledger_duplicates", "duckdb"), {"date": date}).fetchall()
        return [row[0] for row in rows]


# The loaded ledger (entries of missing Raw files dropped) as one file, like tmdb_ledger_merge.sql.
_MERGE_TABLE = """
COPY (
    SELECT DISTINCT imdb_id, status, media_type, tmdb_id, date, file, recorded_at, error, window_start, window_end
    FROM ledger
    ORDER BY date, file NULLS LAST, imdb_id, status, recorded_at
) TO $out (FORMAT json)
"""


def _date_of(key: str) -> dt.date:
    match = RAW_FILE.fullmatch(key)
    assert match is not None
    return dt.date(int(match.group(2)), int(match.group(3)), int(match.group(4)))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
