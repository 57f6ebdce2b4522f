"""The changes feed: which of the lake's titles TMDB changed since the last sync, to fetch again.

A *sync* reads TMDB's change lists (``GET /movie/changes`` and ``/tv/changes``, ``start_date`` ..
``end_date``, at most :data:`MAX_WINDOW_DAYS` days per request, every ``page``) for a window of
days, matches the TMDB ids listed with the titles the lake holds (the ledger: media type and
TMDB id of each title's latest fetch), and lists those to fetch again (``sync_todo``, see
``sql/tmdb_sync_todo.sql``); :mod:`moviedl.stages.tmdb.ingest` fetches them by TMDB id.

The window runs from the end of the last completed sync (inclusive: a change later on that day
is not missed) to today (UTC). When that day is not among the last ``tmdb.changes_days`` days (or
there never was a sync and titles were fetched before them), the feed cannot show what changed
before: the window is the last ``tmdb.changes_days`` days and the titles whose last fetch (or
last sync) is older than that are fetched again too — the *gap* fallback.

The ledger records the sync: a ``sync`` entry with the window and the time it began before
anything is fetched, a ``synced`` entry once every title was stored (or found gone). An
interrupted sync (Ctrl-C, ``kill -9``, an outage, failed ids) is resumed by the next run with
the same window, and the titles stored since it began are not fetched again.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat

from moviedl.core.errors import ExitCode
from moviedl.core.summary import Check, Status, Summary
from moviedl.engines import duck
from moviedl.engines.base import sql_for
from moviedl.stages.tmdb.client import MEDIA_TYPES, TmdbClient, TmdbGiveUp
from moviedl.stages.tmdb.ledger import Entry, Ledger

MAX_WINDOW_DAYS = 14  # calendar days per change-list request, both ends included (TMDB: at most 14)
MAX_PAGES = 1000  # TMDB answers no page beyond this: a window with more is read in halves
TODO_QUERY = "SELECT imdb_id, media_type, tmdb_id FROM sync_todo WHERE state = 'todo' ORDER BY imdb_id"


@dataclass
class Sync:
    """One sync of the changes feed: its window, and what it found (filled in as it goes)."""

    start: dt.date
    end: dt.date
    began: str  # when it began (UTC, ISO 8601, as the ledger's recorded_at)
    resumed: bool = False  # an interrupted sync taken up again
    last_end: dt.date | None = None  # the end of the last completed sync
    gap: bool = False  # titles fetched before the window are fetched again (see module doc)
    listed: int = 0  # distinct TMDB ids the change lists named
    in_lake: int = 0  # of those, titles in the lake (an id may be two IMDb titles)
    stale: int = 0  # titles fetched again because of the gap, not because they were listed
    already: int = 0  # titles to fetch again, but already stored for this date or since it began
    this_date: int = 0  # of those, stored for this date before the sync began (not fetched twice a date)
    todo: int = 0  # titles fetched again now
    requests: int = 0
    seconds: float = 0.0
    pages: dict[str, int] = field(default_factory=dict)  # media -> change-list pages read

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        return self.start, self.end

    def describe(self) -> str:
        return f"{self.start}..{self.end}"


def now_utc() -> dt.datetime:
    """The time a sync begins (tests move it)."""
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    """To the microsecond: the titles a sync stores are recorded after it began, not in its second."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def windows(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """``start``..``end`` cut into windows of at most :data:`MAX_WINDOW_DAYS` days (both ends in),
    each starting on the day the previous one ends: whether TMDB reads ``end_date`` as the start
    or the end of that day, no change falls between two windows (one listed twice counts once)."""
    out = [(start, min(end, start + dt.timedelta(days=MAX_WINDOW_DAYS - 1)))]
    while out[-1][1] < end:
        first = out[-1][1]
        out.append((first, min(end, first + dt.timedelta(days=MAX_WINDOW_DAYS - 1))))
    return out


def plan(con: duck.Connection, changes_days: int, now: dt.datetime | None = None) -> Sync | None:
    """The sync this run makes, from the ledger loaded in ``con``; None when the lake holds no
    TMDB title yet (nothing can have changed). Fills the table ``lake_ids``."""
    now = now or now_utc()
    today = now.astimezone(dt.UTC).date()
    floor = today - dt.timedelta(days=changes_days - 1)  # the oldest day TMDB still lists (whole)
    last_end: dt.date | None = con.execute("SELECT max(window_end) FROM ledger WHERE status = 'synced'").fetchall()[0][0]
    con.execute(sql_for("tmdb_sync_lake", "duckdb"), {"last_end": last_end})
    count, oldest = con.execute("SELECT count(*), min(covered_since) FROM lake_ids").fetchall()[0]
    if not count:
        return None
    open_sync: list[tuple[dt.date, dt.date, str]] = con.execute(
        "SELECT window_start, window_end, recorded_at FROM ledger AS s WHERE status = 'sync' "
        "AND NOT EXISTS (SELECT 1 FROM ledger AS d WHERE d.status = 'synced' AND d.recorded_at = s.recorded_at) "
        "AND recorded_at > coalesce((SELECT max(recorded_at) FROM ledger WHERE status = 'synced'), '') "
        "ORDER BY recorded_at DESC LIMIT 1").fetchall()
    if open_sync and open_sync[0][0] >= floor:  # resumable: TMDB still lists its window
        start, end, began = open_sync[0]
        return Sync(start, end, began, resumed=True, last_end=last_end, gap=oldest < start)
    start = min(max(floor, oldest), today)
    return Sync(start, today, _iso(now), last_end=last_end, gap=oldest < start)


def list_changes(client: TmdbClient, sync: Sync, concurrency: int) -> list[tuple[str, int]]:
    """Every ``(media_type, tmdb_id)`` the change lists name for the sync's window, page by page
    (the first page of each list gives ``total_pages``; the others are read ``concurrency`` at a
    time). Duplicates are kept (an id changed twice is listed twice); empty pages are read past."""
    found: list[tuple[str, int]] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="tmdb-changes") as pool:

        def read(media: str, start: dt.date, end: dt.date) -> None:
            ids, total = client.changes(media, start, end, 1)
            sync.pages[media] = sync.pages.get(media, 0) + 1
            if total > MAX_PAGES and start < end:  # more than TMDB pages: two halves (sharing a day)
                middle = start + (end - start) // 2
                read(media, start, middle)
                read(media, middle if middle < end - dt.timedelta(days=1) else end, end)
                return
            if total > MAX_PAGES:
                raise TmdbGiveUp(f"GET /{media}/changes {start}: {total} pages of changes in one day; "
                                 f"TMDB serves at most {MAX_PAGES}")
            found.extend((media, i) for i in ids)
            done = 1
            while done < total:  # TMDB may count more pages while we read them
                more = list(range(done + 1, min(total, MAX_PAGES) + 1))
                answers = list(pool.map(client.changes, repeat(media), repeat(start), repeat(end), more))
                found.extend((media, i) for page_ids, _ in answers for i in page_ids)
                sync.pages[media] += len(more)
                done = more[-1]
                total = min(MAX_PAGES, max([total, *(t for _, t in answers)]))

        for media in MEDIA_TYPES:
            for start, end in windows(sync.start, sync.end):
                read(media, start, end)
    return found


def select(con: duck.Connection, sync: Sync, changed: list[tuple[str, int]], date: dt.date) -> None:
    """Fill ``sync_todo`` (see ``sql/tmdb_sync_todo.sql``) and the sync's counts."""
    import pyarrow as pa

    table = pa.table({"media_type": pa.array([m for m, _ in changed], pa.string()),
                      "tmdb_id": pa.array([i for _, i in changed], pa.int64())})
    con.register("changed_ids", table)
    try:
        con.execute("CREATE OR REPLACE TABLE changed AS SELECT * FROM changed_ids")
    finally:
        con.unregister("changed_ids")
    con.execute(sql_for("tmdb_sync_todo", "duckdb"), {"start": sync.start, "date": date, "began": sync.began})
    row = con.execute(
        "SELECT (SELECT count(*) FROM (SELECT DISTINCT media_type, tmdb_id FROM changed)), "
        "count(*) FILTER (WHERE listed), count(*) FILTER (WHERE NOT listed), "
        "count(*) FILTER (WHERE state <> 'todo'), count(*) FILTER (WHERE state = 'todo'), "
        "count(*) FILTER (WHERE state = 'this_date') FROM sync_todo"
    ).fetchall()[0]
    sync.listed, sync.in_lake, sync.stale, sync.already, sync.todo, sync.this_date = map(int, row)


def began(ledger: Ledger, sync: Sync, date: dt.date) -> None:
    """Record that the sync began (before anything it fetches is stored)."""
    if not sync.resumed:
        ledger.record([Entry("", "sync", date, recorded_at=sync.began, window=sync.window)])


def ended(ledger: Ledger, sync: Sync, date: dt.date) -> None:
    """Record that every title of the sync is stored: the next one starts at its end."""
    ledger.record([Entry("", "synced", date, recorded_at=sync.began, window=sync.window)])


def timed(sync: Sync, client: TmdbClient, work: Callable[[], None]) -> None:
    """Run ``work``, adding its requests and seconds to the sync's."""
    requests, started = client.stats.requests, time.monotonic()
    try:
        work()
    finally:
        sync.requests += client.stats.requests - requests
        sync.seconds += time.monotonic() - started


def report(summary: Summary, sync: Sync | None, *, fetched: int, not_found: int, failed: int,
           error: str | None, enabled: bool, changes_days: int) -> None:
    """The sync's counts, its check and notes in the command's summary."""
    summary.counts.update({
        "changes_listed": sync.listed if sync else 0,
        "changes_in_lake": sync.in_lake if sync else 0,
        "changes_stale": sync.stale if sync else 0,
        "changes_already_stored": sync.already if sync else 0,
        "changes_fetched": fetched,
        "changes_not_found": not_found,
        "changes_failed": failed,
        "changes_requests": sync.requests if sync else 0,
        "changes_seconds": round(sync.seconds, 1) if sync else 0,  # type: ignore[dict-item]
    })
    if sync is None:
        summary.notes.append("changes feed skipped (--no-changes)" if enabled is False else
                             "changes feed: the lake held no TMDB title before this run; nothing to refresh")
        return
    window = f"TMDB change lists {sync.describe()}"
    if error is not None:
        summary.checks.append(Check("TMDB changes", window, f"the change lists could not be read: {error}",
                                    Status.FAIL, "every changed title fetched again"))
        summary.problems.append(f"TMDB's change lists could not be read: {error}; nothing was fetched again "
                                f"for them, and the next run reads the window {sync.describe()} again")
        summary.fail(ExitCode.SERVICE)
        return
    summary.checks.append(Check(
        "TMDB changes", window,
        f"listed {sync.listed}, in the lake {sync.in_lake}, fetched again {fetched}, not found {not_found}, "
        f"failed {failed}", Status.FAIL if failed else Status.PASS, "every changed title fetched again"))
    since = f"since the sync that ended {sync.last_end}" if sync.last_end else "first sync"
    how = f"resumed the interrupted sync begun {sync.began}" if sync.resumed else since
    summary.notes.append(
        f"changes feed {sync.describe()} ({how}): TMDB listed {sync.listed} id(s), {sync.in_lake} of them in "
        f"the lake; {fetched} fetched again, {not_found} no longer on TMDB, {failed} failed, {sync.already} "
        f"already stored (this date, or since the sync began); {sync.requests} request(s) in "
        f"{sync.seconds:.1f} s")
    if sync.gap:
        last = f"the last one ended {sync.last_end}" if sync.last_end else "there never was one"
        summary.notes.append(
            f"no sync for more than tmdb.changes_days = {changes_days} day(s) ({last}): TMDB's change lists "
            f"cannot show older changes, so {sync.stale} title(s) last fetched before {sync.start} were "
            "fetched again too")
    if sync.this_date:
        summary.notes.append(
            f"{sync.this_date} title(s) to fetch again already have a record for {summary.date} (one record per "
            "title and date): not fetched again; their newer data comes with a run for a later date (the day's CSVs)")
    if failed:
        summary.notes.append(f"the sync {sync.describe()} is not complete ({failed} title(s) failed): the next run "
                             "resumes it, without fetching again what it stored")
