"""``moviedl run``: every stage in order, for cron. Stops at the first stage that fails and
takes its exit code, so a script can branch on the outcome; the run record holds each stage's
summary for the morning after.

One stage may fail without stopping the run: ingest-tmdb, when TMDB is down or refuses the
credentials (exit 3). The CSV data is still refined, validated and catalogued with whatever TMDB
data the lake already holds; the run then ends with exit 3 and names the degraded stage."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviedl.app import commands
from moviedl.app.session import Session, command_session
from moviedl.core.config import Settings
from moviedl.core.errors import ExitCode, MoviedlError
from moviedl.core.summary import Status, Summary
from moviedl.storage import open_lake

COLUMNS = ["stage", "status", "exit_code", "seconds", "details"]
STAGES = ("ingest-csv", "ingest-tmdb", "refine", "validate", "athena-ddl", "quicksight")


@dataclass(frozen=True)
class _Stage:
    name: str
    work: Callable[[], Summary] | None  # None: skipped, ``reason`` says why
    reason: str = ""
    optional: bool = False  # a service failure (exit 3) degrades the run instead of stopping it


def _plan(
    settings: Settings, session: Session, files: Sequence[Path], on_tmdb_progress: Callable[[Any], None] | None
) -> list[_Stage]:
    from moviedl.stages.catalog.athena_ddl import DdlOptions

    sources = list(files) or [Path(p) for p in settings.run_sources]
    has_tmdb = settings.tmdb_api_key is not None or settings.tmdb_read_access_token is not None
    catalog = settings.run_catalog
    works: dict[str, Callable[[], Summary]] = {
        "ingest-csv": lambda: commands.ingest_csv(settings, sources, session=session),
        "ingest-tmdb": lambda: commands.ingest_tmdb(settings, session=session, on_progress=on_tmdb_progress),
        "refine": lambda: commands.refine(settings, session=session),
        "validate": lambda: commands.validate(settings, session=session),
        "athena-ddl": lambda: commands.athena_ddl(
            settings, DdlOptions(execute=catalog == "athena", glue=catalog == "glue"), session=session),
        "quicksight": lambda: commands.quicksight_refresh(settings, session=session),
    }
    return [_Stage(name, None if (why := _skipped(name, settings, sources, has_tmdb)) else work, why,
                   optional=name == "ingest-tmdb") for name, work in works.items()]


@dataclass(frozen=True)
class StageEvent:
    """A stage starting (``status`` "start") or ending (ok, failed, degraded, skipped, not run),
    for a caller that shows progress: ``1 of 5 START ingest-csv``."""

    index: int
    total: int
    name: str
    status: str
    seconds: float | None = None


def run_pipeline(
    settings: Settings,
    session: Session,
    files: Sequence[Path] = (),
    on_stage: Callable[[StageEvent], None] | None = None,
    on_tmdb_progress: Callable[[Any], None] | None = None,
) -> Summary:
    """Run the stages in order under ``session``; the first failure stops the run."""
    lake = session.lake
    summary = Summary("run", lake.uri, settings.date.isoformat(), COLUMNS)
    stopped: str | None = None
    degraded: list[str] = []
    checked: dict[str, int] = {}
    plan = _plan(settings, session, files, on_tmdb_progress)
    tell = on_stage or (lambda event: None)
    for index, stage in enumerate(plan, 1):
        row: dict[str, object] = {"stage": stage.name, "exit_code": None, "seconds": None, "counts": {}}
        summary.rows.append(row)
        if stopped:
            row.update(status="not run", details=f"{stopped} failed")
            tell(StageEvent(index, len(plan), stage.name, "not run"))
            continue
        if stage.work is None:
            row.update(status="skipped", details=stage.reason)
            summary.notes.append(f"{stage.name} skipped: {stage.reason}")
            tell(StageEvent(index, len(plan), stage.name, "skipped"))
            continue
        tell(StageEvent(index, len(plan), stage.name, "start"))
        started = time.monotonic()
        try:
            with session.stage(stage.name):
                result = stage.work()
        except MoviedlError as exc:
            seconds = round(time.monotonic() - started, 1)
            degrade = stage.optional and exc.exit_code == ExitCode.SERVICE
            row.update(status="degraded" if degrade else "failed", details=exc.message, seconds=seconds,
                       exit_code=int(exc.exit_code))
            summary.problems.append(f"{stage.name}: {exc.message}")
            summary.fail(exc.exit_code)
            failed = Summary(stage.name, lake.uri, settings.date.isoformat(), problems=[exc.message])
            failed.fail(exc.exit_code)
            session.add(stage.name, failed, seconds)
            if degrade:
                degraded.append(stage.name)
            else:
                stopped = stage.name
            tell(StageEvent(index, len(plan), stage.name, str(row["status"]), seconds))
            continue
        seconds = round(time.monotonic() - started, 1)
        session.add(stage.name, result, seconds)
        row.update(status="ok" if result.exit_code == ExitCode.OK else "failed", seconds=seconds, details=_details(result),
                   exit_code=int(result.exit_code), counts=dict(result.counts))
        summary.checks.extend(c for c in result.checks if c not in summary.checks)  # refine and validate share checks
        checked[stage.name] = len(result.checks)
        summary.problems.extend(f"{stage.name}: {p}" for p in result.problems)
        if result.exit_code != ExitCode.OK:
            summary.fail(result.exit_code)
            if stage.optional and result.exit_code == ExitCode.SERVICE:
                row["status"] = "degraded"
                degraded.append(stage.name)
            else:
                stopped = stage.name
        tell(StageEvent(index, len(plan), stage.name, str(row["status"]), seconds))
    if degraded and not stopped:
        summary.problems.append(
            f"degraded: {', '.join(degraded)} failed (exit 3); the later stages ran on the data "
            "the lake already held — re-run when the service is back"
        )
    summary.counts = {
        "stages_run": sum(r["status"] in ("ok", "failed", "degraded") for r in summary.rows),
        "skipped": sum(r["status"] == "skipped" for r in summary.rows),
        "degraded": len(degraded),
        "failed": sum(r["status"] == "failed" for r in summary.rows),
        "checks": len(summary.checks),
        "checks_passed": sum(c.status is Status.PASS for c in summary.checks),
    }
    by_stage = {name: n for name, n in checked.items() if n}
    if len(by_stage) > 1:  # each stage's row counts its own checks; the run counts each check once
        shared = sum(by_stage.values()) - len(summary.checks)
        summary.notes.append(
            f"checks: {len(summary.checks):,} in all, " + ", ".join(f"{n:,} by {name}" for name, n in by_stage.items())
            + (f" ({shared:,} checked by two stages count once)" if shared else ""))
    return summary


def run(
    settings: Settings,
    files: Iterable[str | Path] = (),
    *,
    on_stage: Callable[[Any], None] | None = None,
    on_tmdb_progress: Callable[[Any], None] | None = None,
) -> Summary:
    """The whole pipeline for cron (``moviedl run``): ingest-csv (``files``, else
    ``run.sources``), ingest-tmdb, refine, validate and the catalog, in one session.
    ``on_stage`` receives a :class:`StageEvent` as each stage starts and ends;
    ``on_tmdb_progress`` the ingest-tmdb stage's progress, as :func:`moviedl.api.ingest_tmdb` gives it."""
    lake = open_lake(settings)
    with command_session(settings, lake, "run") as session:
        summary = run_pipeline(settings, session, [Path(f) for f in files], on_stage, on_tmdb_progress)
        summary.notes.append(f"run record: {lake.uri_of(session.record.key())}")
    return summary


DRY_COLUMNS = ["stage", "action", "exit_code", "details"]


def dry_run(settings: Settings, files: Iterable[str | Path] = ()) -> Summary:
    """What ``run`` would do (``moviedl run --dry-run``), writing nothing: no lock, no run
    record, no request to TMDB or AWS. ingest-csv checks the files as it would; refine plans
    from the Raw zone (or, when ingest-csv would add files, says it would build from them);
    the other stages say what they would do. Bad input fails as the real run would (exit 2)."""
    lake = open_lake(settings)
    summary = Summary("run", lake.uri, settings.date.isoformat(), list(DRY_COLUMNS))
    sources = [Path(f) for f in files] or [Path(p) for p in settings.run_sources]
    has_tmdb = settings.tmdb_api_key is not None or settings.tmdb_read_access_token is not None
    adds = False  # ingest-csv would store files refine has not seen
    stopped = ""
    for name in STAGES:
        row: dict[str, Any] = {"stage": name, "exit_code": None, "counts": {}}
        summary.rows.append(row)
        reason = _skipped(name, settings, sources, has_tmdb)
        if stopped or reason:
            row.update(action="not run" if stopped else "skipped",
                       details=f"{stopped} would fail" if stopped else reason)
            continue
        if name == "ingest-csv":
            result = commands.ingest_csv(settings, sources, dry_run=True)
            adds = any(r.get("status") == "would ingest" for r in result.rows)
        elif name == "refine" and adds:
            row.update(action="would run", details=f"would build trusted dt={settings.date.isoformat()} from the "
                       "files ingest-csv adds, then every Refined table")
            continue
        elif name == "refine":
            try:
                result = commands.refine(settings, dry_run=True)
            except MoviedlError as exc:
                result = Summary(name, lake.uri, problems=[exc.message])
                result.fail(exc.exit_code)
        else:
            row.update(action="would run", details=_WOULD[name].format(catalog=settings.run_catalog))
            continue
        row.update(action="would run" if result.ok else "would fail", exit_code=int(result.exit_code),
                   counts=dict(result.counts), details=_details(result) if result.ok else "; ".join(result.problems))
        summary.problems.extend(f"{name}: {p}" for p in result.problems)
        summary.notes.extend(f"{name}: {note}" for note in result.notes if not note.startswith("dry run"))
        if not result.ok:
            summary.fail(result.exit_code)
            stopped = name
    summary.counts = {"stages": sum(r["action"] == "would run" for r in summary.rows),
                      "skipped": sum(r["action"] == "skipped" for r in summary.rows)}
    summary.notes.append("dry run: nothing was written (no lock, no run record, no TMDB or AWS request)")
    return summary


def _skipped(name: str, settings: Settings, sources: list[Path], has_tmdb: bool) -> str:
    """Why ``run`` would skip the stage ``name`` ("" when it would run it): as :func:`_plan` decides."""
    if name == "ingest-csv" and not sources:
        return "no files given and run.sources is not set: refining the Raw zone as it is"
    if name == "ingest-tmdb" and not has_tmdb:
        return "no TMDB credentials (set TMDB_READ_ACCESS_TOKEN or TMDB_API_KEY to enrich)"
    if name == "athena-ddl" and settings.run_catalog == "none":
        return "run.catalog is none (set it to athena or glue to publish the table definitions)"
    if name == "quicksight" and not settings.run_quicksight:
        return "run.quicksight is false (set it to true to refresh the SPICE datasets of 'moviedl quicksight deploy')"
    if name == "quicksight" and settings.quicksight_mode != "spice":
        return "quicksight.mode is direct: the datasets query Athena, there is nothing to refresh"
    return ""


def _details(result: Summary) -> str:
    """A stage's first five counts as its row's details: ``files 2, rows_read 415, ...``."""
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in list(result.counts.items())[:5])


#: what the stages a dry run does not start would do
_WOULD = {
    "ingest-tmdb": "would look up on TMDB the titles of the date not stored yet, and fetch again those TMDB's "
                   "change lists name since the last sync (no request in a dry run)",
    "validate": "would check every zone against the contract (reads only)",
    "athena-ddl": "would publish the table definitions through {catalog}",
    "quicksight": "would refresh the SPICE datasets of the QuickSight dashboard",
}
