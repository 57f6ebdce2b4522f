"""``ingest-tmdb``: look up the Raw CSV titles on TMDB by IMDb id; store the answers as Raw JSON.

1. **Pick ids** with DuckDB over the Raw CSVs of the ingestion date (default: the latest date
   present): distinct ``tt`` ids, filtered by genre, year, votes, kind and ``--ids-file``, minus
   what the ledger (:mod:`moviedl.stages.tmdb.ledger`) says is already stored or known not to exist.
2. **Look them up** with a pool of workers sharing one rate-limited, retrying
   :class:`~moviedl.stages.tmdb.client.TmdbClient`.
3. **Write** JSON arrays of at most ``records_per_file`` records and 10 MB to
   ``Raw/TMDB/JSON/{Movies,Series}/YYYY/MM/DD/<movies|series>-<run>-NNNNN.json`` (by TMDB media
   type), each file atomically, then record its ids in the ledger. Names sort in write order.
4. **Keep the lake fresh** (unless ``--no-changes``): read TMDB's change lists since the last sync
   and fetch again, by TMDB id, the lake's titles they name, as new records of this date
   (:mod:`moviedl.stages.tmdb.changes`).

An interrupted run (Ctrl-C, ``kill -9``, an outage) re-run with the same arguments fetches only
what is missing, and no id is stored twice for a date. Ids that failed after every retry are
reported and the command exits 3 once everything that succeeded is written. When TMDB fails
every request for ``tmdb.outage_seconds`` the client's circuit breaker stops the whole run
(exit 3, :class:`~moviedl.stages.tmdb.client.TmdbOutage`) after saving what was fetched. Ids the ledger
records in a Raw file that no longer exists (deleted by hand, e.g. because it was damaged) are
fetched again.

DuckDB-only on purpose (a raw connection, not an :class:`~moviedl.engines.base.Engine`): picking ids
and keeping the ledger are small, single-machine work that precedes refine.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviedl.core import progress
from moviedl.core.config import Settings
from moviedl.core.errors import ExitCode, InputFileError, UsageError
from moviedl.core.scratch import ScratchDir, reclaimed_note
from moviedl.core.sources import (
    BY_MEDIA,
    BY_NAME,
    KINDS,
    RAW_TMDB_PREFIX,
    TMDB_MAX_FILE_BYTES,
    SourceKind,
)
from moviedl.core.summary import Check, Status, Summary
from moviedl.engines import duck
from moviedl.engines.base import sql_for
from moviedl.stages.tmdb import changes as feed
from moviedl.stages.tmdb.client import (
    Cancelled,
    Lookup,
    TmdbAuthError,
    TmdbClient,
    TmdbGiveUp,
    TmdbOutage,
    check_appends,
)
from moviedl.stages.tmdb.ledger import MEDIA_FOLDERS, Entry, Ledger
from moviedl.storage.lake import Lake
from moviedl.storage.runs import current_run_id

FILE_COLUMNS = ["file", "media_type", "records", "bytes"]
MAX_FILE_BYTES = TMDB_MAX_FILE_BYTES
NOT_FOUND_BATCH = 500  # not-found/failed ids recorded at least this often without a file write
IN_FLIGHT_PER_WORKER = 4
MAX_PROBLEMS_SHOWN = 20
IMDB_ID = re.compile(r"tt\d+")
FILE_PREFIX = {media: kind.name for media, kind in BY_MEDIA.items()}  # "movie" -> "movies"


@dataclass(frozen=True)
class TmdbOptions:
    """What to look up. ``genres`` match case-insensitively; a title with any of them passes."""

    kind: str | None = None  # "movies", "series" or None for both
    genres: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    min_votes: int | None = None
    limit: int | None = None
    ids_file: Path | None = None
    refresh: bool = False
    retry_not_found: bool = False
    changes: bool = True  # also fetch again the lake's titles TMDB's change lists name (--no-changes: off)
    appends: tuple[str, ...] = ()  # append_to_response beyond external_ids, e.g. ("credits",)
    max_file_bytes: int = MAX_FILE_BYTES

    def __post_init__(self) -> None:
        genres = tuple(g.strip().lower() for text in self.genres for g in text.split(",") if g.strip())
        object.__setattr__(self, "genres", genres)
        if self.kind is not None and self.kind not in BY_NAME:
            raise UsageError(f"--kind {self.kind!r}: use {' or '.join(BY_NAME)}")
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise UsageError(f"--year-from {self.year_from} is after --year-to {self.year_to}")
        if self.limit is not None and self.limit < 1:
            raise UsageError("--limit must be at least 1")
        if self.min_votes is not None and self.min_votes < 0:
            raise UsageError("--min-votes cannot be negative")
        check_appends(self.appends)

    @property
    def kinds(self) -> tuple[SourceKind, ...]:
        return tuple(k for k in KINDS if self.kind in (None, k.name))


@dataclass(frozen=True)
class TmdbProgress:
    """Passed to ``on_progress`` after each id: ``done`` of ``total`` ids looked up."""

    done: int
    total: int
    fetched: int
    not_found: int
    failed: int
    requests: int
    requests_per_second: float


@dataclass
class _Outcome:
    imdb_id: str
    lookup: Lookup | None = None
    payload: bytes | None = None
    error: str | None = None


@dataclass
class _Batch:
    lookups: list[Lookup] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)
    payload_bytes: int = 0

    def size_with(self, extra: int) -> int:
        """Bytes of the file ``[\\n r1,\\n r2 \\n]\\n`` if a record of ``extra`` bytes joined."""
        return self.payload_bytes + extra + 2 * (len(self.payloads) + 1) + 3


class _BatchWriter:
    """Runs in the calling thread: turns outcomes into Raw files and ledger segments."""

    def __init__(self, lake: Lake, ledger: Ledger, date: dt.date, per_file: int, max_bytes: int) -> None:
        self.lake, self.ledger, self.date = lake, ledger, date
        self.per_file, self.max_bytes = per_file, max_bytes
        self.refetched = 0  # ids stored again because the Raw file the ledger named was gone
        self.batches = {media: _Batch() for media in MEDIA_FOLDERS}
        self.numbers = dict.fromkeys(MEDIA_FOLDERS, 0)
        self.pending: list[Entry] = []  # not-found and failed ids not yet recorded
        self.files: list[dict[str, Any]] = []
        self.fetched = self.not_found = 0
        self.found = 0  # records accepted (batched or written): fetched once all is flushed
        self.failures: list[tuple[str, str]] = []

    def add(self, outcome: _Outcome) -> None:
        lookup, payload = outcome.lookup, outcome.payload
        if lookup is None or outcome.error:
            self._fail(outcome.imdb_id, outcome.error or "no answer")
        elif payload is None or lookup.media_type is None:
            self.not_found += 1
            self.pending.append(Entry(lookup.imdb_id, "not_found", self.date, recorded_at=_now()))
        elif len(payload) + 5 > self.max_bytes:
            self._fail(lookup.imdb_id, f"its TMDB record is {len(payload):,} bytes, more than a "
                                       f"{self.max_bytes:,}-byte Raw file may hold")
        else:
            if self.batches[lookup.media_type].size_with(len(payload)) > self.max_bytes:
                self.flush(lookup.media_type)  # full by size: this record starts the next file
            batch = self.batches[lookup.media_type]
            self.found += 1
            batch.lookups.append(lookup)
            batch.payloads.append(payload)
            batch.payload_bytes += len(payload)
            if len(batch.payloads) >= self.per_file:
                self.flush(lookup.media_type)
        if len(self.pending) >= NOT_FOUND_BATCH:
            self.ledger.record(self.pending)
            self.pending = []

    def _fail(self, imdb_id: str, reason: str) -> None:
        self.failures.append((imdb_id, reason))
        self.pending.append(Entry(imdb_id, "failed", self.date, recorded_at=_now(), error=reason))

    def flush(self, media: str) -> None:
        """Write the batch file (atomically), then record its ids: the crash-safe order."""
        batch = self.batches[media]
        if not batch.payloads:
            return
        self.numbers[media] += 1
        name = f"{FILE_PREFIX[media]}-{self.ledger.run_id}-{self.numbers[media]:05d}.json"
        key = f"{RAW_TMDB_PREFIX}{MEDIA_FOLDERS[media]}/{self.date:%Y/%m/%d}/{name}"
        data = b"[\n" + b",\n".join(batch.payloads) + b"\n]\n"
        self.lake.write_bytes(key, data)
        recorded = _now()  # after the file: to the microsecond (a sync resumed compares it, changes.py)
        entries = [Entry(lk.imdb_id, "fetched", self.date, media, lk.tmdb_id, key, recorded_at=recorded)
                   for lk in batch.lookups]
        self.ledger.record(entries + self.pending)
        self.pending = []
        self.fetched += len(batch.payloads)
        self.refetched += sum(lk.imdb_id in self.ledger.missing_ids for lk in batch.lookups)
        self.files.append({"file": self.lake.uri_of(key), "media_type": media,
                           "records": len(batch.payloads), "bytes": len(data)})
        self.batches[media] = _Batch()

    def close(self) -> None:
        for media in MEDIA_FOLDERS:
            self.flush(media)
        self.ledger.record(self.pending)
        self.pending = []


def ingest_tmdb(
    settings: Settings,
    lake: Lake,
    options: TmdbOptions | None = None,
    *,
    client: TmdbClient | None = None,
    on_progress: Callable[[TmdbProgress], None] | None = None,
) -> Summary:
    """Look up the selected titles on TMDB and store the answers in the Raw zone."""
    options = options or TmdbOptions()
    if client is None:  # no credentials: exit 2 before touching anything
        client = TmdbClient.from_settings(settings, appends=check_appends(options.appends))
    wanted = _read_ids_file(options.ids_file) if options.ids_file else None
    lake.check()
    date, csv_keys, date_note = _pick_date(settings, lake, options.kinds)
    summary = Summary("ingest-tmdb", lake.uri, date.isoformat(), FILE_COLUMNS)
    summary.notes.append(date_note)
    run_id = current_run_id()  # the session's: Raw file names lead back to the run record
    with ScratchDir("tmdb") as scratch, duck.connect(settings, scratch.path) as con:
        if note := reclaimed_note(scratch.reclaimed):
            summary.notes.append(note)
        workdir = scratch.path
        ledger = Ledger(lake, con, workdir, run_id)
        ledger.load()
        adopted = ledger.adopt_orphans()
        counts = _select(con, lake, workdir, csv_keys, options, date, wanted)
        total = min(counts["todo"], options.limit or counts["todo"])
        sync = feed.plan(con, settings.tmdb_changes_days) if options.changes else None
        writer = _BatchWriter(lake, ledger, date, settings.tmdb_records_per_file, options.max_file_bytes)
        phase = _Phase()
        try:
            _fetch(con, client, writer, sql_for("tmdb_todo", "duckdb"), {"limit": options.limit},
                   lambda row: _look_up(client, *row), total, settings.tmdb_concurrency, on_progress)
            phase.new = (writer.found, writer.not_found, len(writer.failures))
            if sync is not None:
                writer.close()  # the ledger must know every record stored for this date first
                phase.in_sync = True
                phase.sync_error = _sync(con, client, writer, ledger, sync, date, settings.tmdb_concurrency,
                                         on_progress)
        except TmdbAuthError as exc:
            _finish_quietly(writer, ledger)
            raise TmdbAuthError(
                f"{exc.message}; stopped at once: {writer.fetched} record(s) fetched before were "
                f"saved, {writer.not_found} not found recorded", hint=exc.hint) from None
        except TmdbOutage as exc:
            _finish_quietly(writer, ledger)
            left = 0 if phase.in_sync else max(counts["todo"] - writer.fetched - writer.not_found, 0)
            resume = f" and resumes the changes-feed sync {sync.describe()}" if phase.in_sync and sync else ""
            raise TmdbOutage(
                f"{exc.message}; ingest-tmdb stopped. Saved: {writer.fetched} record(s) fetched "
                f"before the outage are in the Raw zone and recorded in the ledger "
                f"({writer.not_found} not found recorded); the next run fetches only the {left} "
                f"id(s) still missing{resume}",
                base_url=exc.base_url, seen=exc.seen,
                hint="Check the network (proxy, firewall, DNS), TMDB's status and tmdb.base_url, then "
                "run 'moviedl ingest-tmdb' again. tmdb.outage_seconds sets how long every request "
                "must fail before the run stops.",
            ) from None
        except BaseException:
            _finish_quietly(writer, ledger)
            raise
        finally:
            client.close()
        writer.close()
        if sync is not None and phase.sync_error is None and len(writer.failures) == phase.new[2]:
            feed.ended(ledger, sync, date)  # every title of the window stored: the next sync starts at its end
        ledger.compact()
        duplicates = ledger.duplicates(date)
    _report(summary, counts, total, writer, client, adopted, duplicates, options, date, phase.new)
    new_found, new_not_found, new_failed = phase.new
    feed.report(summary, sync, fetched=writer.found - new_found, not_found=writer.not_found - new_not_found,
                failed=len(writer.failures) - new_failed, error=phase.sync_error, enabled=options.changes,
                changes_days=settings.tmdb_changes_days)
    return summary


@dataclass
class _Phase:
    """What the lookups of new ids gave (records, not found, failed), and why the sync failed."""

    new: tuple[int, int, int] = (0, 0, 0)
    sync_error: str | None = None
    in_sync: bool = False


def _sync(con: duck.Connection, client: TmdbClient, writer: _BatchWriter, ledger: Ledger, sync: feed.Sync,
          date: dt.date, concurrency: int, on_progress: Callable[[TmdbProgress], None] | None) -> str | None:
    """Read the change lists and fetch again the lake's titles they name (see
    :mod:`moviedl.stages.tmdb.changes`); returns why the lists could not be read, or None."""
    error: list[str] = []

    def work() -> None:
        progress.activity(f"reading TMDB's change lists {sync.describe()}")
        try:
            changed = feed.list_changes(client, sync, concurrency)
        except TmdbGiveUp as exc:
            error.append(exc.reason)
            return
        feed.select(con, sync, changed, date)
        if sync.todo:
            feed.began(ledger, sync, date)
            _fetch(con, client, writer, feed.TODO_QUERY, {}, lambda row: _refetch(client, *row), sync.todo,
                   concurrency, on_progress)

    feed.timed(sync, client, work)
    return error[0] if error else None


def _finish_quietly(writer: _BatchWriter, ledger: Ledger) -> None:
    """Save what was fetched before a failure; a second failure must not hide the first."""
    with suppress(Exception):
        writer.close()
    with suppress(Exception):
        ledger.compact()


# --- selection --------------------------------------------------------------------------------


def _pick_date(settings: Settings, lake: Lake, kinds: Iterable[SourceKind]) -> tuple[dt.date, dict[str, str], str]:
    """The ingestion date (given, or the latest with a Raw CSV) and its Raw CSV keys by kind."""
    kinds = tuple(kinds)
    names = " and ".join(k.file_name for k in kinds)
    if settings.date_given:
        date, how = settings.date, "given"
    else:
        dates: set[dt.date] = set()
        for kind in kinds:
            pattern = re.compile(re.escape(kind.raw_prefix()) + r"(\d{4})/(\d{2})/(\d{2})/" + re.escape(kind.file_name))
            for info in lake.list_objects(kind.raw_prefix()):
                if match := pattern.fullmatch(info.key):
                    with suppress(ValueError):
                        dates.add(dt.date(*map(int, match.groups())))
        if not dates:
            raise UsageError(
                f"no Raw CSV ({names}) in {lake.uri_of('Raw/Local/CSV/')}; nothing to look up",
                hint="Ingest the source files first: moviedl ingest-csv movies.csv series.csv",
            )
        date, how = max(dates), "latest date with a Raw CSV"
    keys = {k.name: k.raw_key(date) for k in kinds if lake.exists(k.raw_key(date))}
    if not keys:
        raise UsageError(
            f"no Raw CSV ({names}) for {date} in {lake.uri_of('Raw/Local/CSV/')}",
            hint=f"Ingest them with 'moviedl ingest-csv --date {date} FILE...', or pick another --date.",
        )
    missing = [k.file_name for k in kinds if k.name not in keys]
    note = f"date {date} ({how}); titles from {', '.join(sorted(keys.values()))}"
    if missing:
        note += f"; no {' or '.join(missing)} for that date"
    return date, keys, note


def _read_ids_file(path: Path) -> list[str]:
    """One IMDb id per line; blank lines and ``#`` comments are ignored."""
    ids: list[str] = []
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                if not IMDB_ID.fullmatch(text):
                    raise InputFileError(
                        f"{path}, line {number}: {text[:40]!r} is not an IMDb title id "
                        "(tt followed by digits); --ids-file wants one id per line, # for comments"
                    )
                ids.append(text)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file (--ids-file)") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, not a file of ids (--ids-file)") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text ({exc.reason}) (--ids-file)") from None
    return ids


def _select(con: duck.Connection, lake: Lake, workdir: Path, csv_keys: dict[str, str],
            options: TmdbOptions, date: dt.date, wanted: list[str] | None) -> dict[str, int]:
    """Fill the table ``candidates`` (see tmdb_candidates.sql); returns the selection counts."""
    con.execute(sql_for("tmdb_titles_table", "duckdb"))
    for kind, key in csv_keys.items():
        con.execute(sql_for("tmdb_titles", "duckdb"), {"kind": kind, "path": str(lake.local_path(key, workdir / "lake"))})
    if wanted:
        import pyarrow as pa

        listed = pa.table({"imdb_id": pa.array(wanted, pa.string())})
        con.register("listed_ids", listed)
        con.execute("INSERT INTO wanted SELECT DISTINCT imdb_id FROM listed_ids")
        con.unregister("listed_ids")
    con.execute(sql_for("tmdb_candidates", "duckdb"), {
        "genres": list(options.genres) or None,
        "year_from": options.year_from,
        "year_to": options.year_to,
        "min_votes": options.min_votes,
        "only_listed": wanted is not None,
        "date": date,
        "refresh": options.refresh,
        "retry_not_found": options.retry_not_found,
    })
    result = con.execute(sql_for("tmdb_selection_counts", "duckdb"))
    row = result.fetchone()
    assert row is not None
    return dict(zip([d[0] for d in result.description], map(int, row), strict=True))


# --- fetching ---------------------------------------------------------------------------------


def _look_up(client: TmdbClient, imdb_id: str, kind: str) -> _Outcome:
    try:
        found = client.lookup(imdb_id, prefer=BY_NAME[kind].tmdb_media)
    except TmdbGiveUp as exc:
        return _Outcome(imdb_id, error=exc.reason)
    return _Outcome(imdb_id, found, _payload(found))


def _refetch(client: TmdbClient, imdb_id: str, media: str, tmdb_id: int) -> _Outcome:
    """Fetch again a title the lake holds, by its TMDB id (one request)."""
    try:
        found = client.details(imdb_id, media, int(tmdb_id))
    except TmdbGiveUp as exc:
        return _Outcome(imdb_id, error=exc.reason)
    return _Outcome(imdb_id, found, _payload(found))


def _payload(found: Lookup) -> bytes | None:
    if found.record is None:
        return None
    return json.dumps(found.record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _fetch(con: duck.Connection, client: TmdbClient, writer: _BatchWriter, query: str, params: dict[str, Any],
           task: Callable[[tuple[Any, ...]], _Outcome], total: int, concurrency: int,
           on_progress: Callable[[TmdbProgress], None] | None) -> None:
    """Run ``task`` on each row of ``query`` with ``concurrency`` workers; the writer runs in this thread."""
    reader = con.cursor()  # its own cursor: the ledger writes through ``con`` meanwhile
    reader.execute(query, params)
    window = concurrency * IN_FLIGHT_PER_WORKER
    pending: set[Future[_Outcome]] = set()
    done_count = 0

    def report() -> None:
        progress.activity(f"{done_count:,} of {total:,} ids looked up")
        if on_progress:
            stats = client.stats
            fetched = writer.fetched + sum(len(b.payloads) for b in writer.batches.values())
            on_progress(TmdbProgress(done_count, total, fetched, writer.not_found, len(writer.failures),
                                     stats.requests, stats.requests_per_second))

    report()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tmdb") as pool:
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    rows = reader.fetchmany(window - len(pending))
                    exhausted = not rows
                    pending.update(pool.submit(task, row) for row in rows)
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                stop: BaseException | None = None
                for future in finished:
                    error = future.exception()
                    if error is None:
                        writer.add(future.result())
                        done_count += 1
                    elif not isinstance(error, Cancelled) and (stop is None or isinstance(error, TmdbAuthError)):
                        stop = error  # a 401 wins over anything else that went wrong
                if stop is None and client.outage is not None:
                    stop = client.outage  # the breaker opened: every worker is stopping
                if stop is not None:
                    raise stop
                report()
        except BaseException:
            client.cancel()
            for future in pending:
                future.cancel()
            for future in pending:  # keep what completed while stopping
                if not future.cancelled():
                    with suppress(Exception):
                        writer.add(future.result())
            raise
        finally:
            reader.close()


# --- summary ----------------------------------------------------------------------------------


def _report(summary: Summary, counts: dict[str, int], total: int, writer: _BatchWriter, client: TmdbClient,
            adopted: int, duplicates: list[str], options: TmdbOptions, date: dt.date,
            new: tuple[int, int, int]) -> None:
    stats = client.stats
    fetched, not_found, new_failed = new  # the lookups of new ids (the changes feed reports its own)
    failed = len(writer.failures)
    summary.rows = writer.files
    summary.counts = {
        "ids_considered": counts["considered"],
        "already_present": counts["present"],
        "skipped_not_found": counts["not_found_before"],
        "fetched": fetched,
        "not_found": not_found,
        "failed": new_failed,
        "left_for_later": counts["todo"] - total,
        "requests": stats.requests,
        "retries": stats.retries,
        "http_429": stats.rate_limited,
        "requests_per_second": round(stats.requests_per_second, 1),  # type: ignore[dict-item]
        "files_written": len(writer.files),
        "refetched_missing_file": writer.refetched,
    }
    summary.checks.append(Check(
        "TMDB lookups", f"{total} id(s) to look up",
        f"fetched {fetched}, not found {not_found}, failed {new_failed}",
        Status.FAIL if new_failed else Status.PASS, "every id fetched or not found",
    ))
    summary.checks.append(Check(
        "each id once per date", f"{RAW_TMDB_PREFIX}*/{date:%Y/%m/%d}/",
        f"in two files: {', '.join(duplicates[:10])}" if duplicates else "no id in two files",
        Status.FAIL if duplicates else Status.PASS, "no id in two files",
    ))
    for imdb_id, reason in writer.failures[:MAX_PROBLEMS_SHOWN]:
        summary.problems.append(f"{imdb_id}: {reason}")
    if failed > MAX_PROBLEMS_SHOWN:
        summary.problems.append(f"... and {failed - MAX_PROBLEMS_SHOWN} more failed id(s)")
    if failed:
        summary.notes.append(f"{failed} id(s) failed after retries; run the command again to retry them")
        summary.fail(ExitCode.SERVICE)
    if duplicates:
        summary.fail(ExitCode.CHECK_FAILED)
    if counts["invalid_ids"]:
        summary.notes.append(f"{counts['invalid_ids']} id(s) in the CSVs are not IMDb title ids (tt...); skipped")
    if counts["unlisted_ids"]:
        summary.notes.append(f"{counts['unlisted_ids']} id(s) of --ids-file are not in the Raw CSVs; ignored")
    if counts["todo"] > total:
        summary.notes.append(f"--limit {options.limit}: {counts['todo'] - total} id(s) left for a later run")
    if writer.ledger.missing_files:
        missing = writer.ledger.missing_files
        summary.notes.append(
            f"{len(missing)} Raw TMDB file(s) named in the ledger no longer exist "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): "
            f"{writer.refetched} of their {len(writer.ledger.missing_ids)} id(s) fetched again")
    if adopted:
        summary.notes.append(
            f"{adopted} Raw file(s) from an interrupted run recorded in the ledger (not refetched)")
    if counts["present"] and not options.refresh:
        summary.notes.append(f"{counts['present']} id(s) already stored: skipped "
                             "(--refresh fetches ids of earlier dates again)")
    if counts["not_found_before"]:
        summary.notes.append(f"{counts['not_found_before']} id(s) not found on TMDB before: skipped "
                             "(--retry-not-found asks again)")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
