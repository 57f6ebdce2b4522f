"""What each command does around its stage: open the lake, take the lock when it writes, run
the stage, keep the run record, and return the stage's :class:`~moviedl.core.summary.Summary`.
:mod:`moviedl.api` is the public face of these calls; :mod:`moviedl.app.pipeline` chains them."""


from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviedl.app.session import Session, command_session, require_lake
from moviedl.core.config import Settings, load_settings
from moviedl.core.summary import Summary
from moviedl.storage import open_lake
from moviedl.storage.lake import Lake

if TYPE_CHECKING:
    from moviedl.stages.catalog.athena_ddl import DdlOptions
    from moviedl.stages.glue_job import DeployOptions
    from moviedl.stages.quicksight.deploy import QuickSightOptions
    from moviedl.stages.report.report import ReportOptions
    from moviedl.stages.tmdb.ingest import TmdbOptions, TmdbProgress

RUNS_COLUMNS = ["run_id", "command", "started_at", "seconds", "exit_code", "stages", "error"]
CONFIG_COLUMNS = ["key", "value", "source"]


def settings(
    lake: str | Path | None = None,
    *,
    config: str | Path | None = None,
    date: str | None = None,
    **overrides: Any,
) -> Settings:
    """The effective settings, resolved like the command line: these arguments (``None`` means
    unset), then the environment, then the config file, then the defaults. ``overrides`` use
    the config keys, e.g. ``settings(**{"tmdb.concurrency": 4})``."""
    flags = {"lake": None if lake is None else str(lake), "date": date, **overrides}
    return load_settings(flags, config_path=None if config is None else str(config))


def _in_session(
    command: str,
    settings: Settings,
    work: Callable[[Lake], Summary],
    session: Session | None,
    *,
    lock: bool = True,
    keep_record: bool = True,
    read_only: bool = False,
) -> Summary:
    """``work`` on the lake under ``session``, or under a session of its own (run id, the lock
    unless ``read_only``, the run record unless ``keep_record`` is false)."""
    if session is not None:
        return work(session.lake)
    lake = open_lake(settings)
    with command_session(
        settings, lake, command, lock=lock and not read_only, keep_record=keep_record, read_only=read_only
    ) as own:
        summary = work(lake)
        own.add(command, summary)
        if keep_record:
            summary.notes.append(f"run record: {lake.uri_of(own.record.key())}")
    return summary


def ingest_csv(
    settings: Settings,
    files: Sequence[str | Path],
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    on_bytes: Callable[[int], None] | None = None,
    session: Session | None = None,
) -> Summary:
    """Check source CSVs and copy them, verified, into the Raw zone (``moviedl ingest-csv``).
    ``dry_run`` writes nothing, not even a run record; ``on_bytes`` reports progress."""
    from moviedl.stages import ingest_csv as stage

    return _in_session(
        "ingest-csv", settings,
        lambda lake: stage.ingest_csv(settings, lake, files, overwrite=overwrite, dry_run=dry_run, on_bytes=on_bytes),
        session, lock=not dry_run, keep_record=not dry_run,
    )


def ingest_tmdb(
    settings: Settings,
    options: TmdbOptions | None = None,
    *,
    on_progress: Callable[[TmdbProgress], None] | None = None,
    session: Session | None = None,
) -> Summary:
    """Look up the Raw CSV titles on TMDB and store the answers in the Raw zone
    (``moviedl ingest-tmdb``); ``options`` is a :class:`~moviedl.stages.tmdb.ingest.TmdbOptions`."""
    from moviedl.stages.tmdb import ingest as stage

    chosen = options if options is not None else stage.TmdbOptions()
    return _in_session(
        "ingest-tmdb", settings,
        lambda lake: stage.ingest_tmdb(settings, lake, chosen, on_progress=on_progress), session,
    )


def refine(
    settings: Settings, stage: str = "all", *, force: bool = False, dry_run: bool = False,
    session: Session | None = None,
) -> Summary:
    """Raw → Trusted → Refined, publishing only audited tables (``moviedl refine``). ``stage``
    is ``trusted``, ``refined`` or ``all``; ``refine.keep_versions`` comes from the settings.
    Tables whose inputs did not change since they were published are skipped unless ``force``.
    ``dry_run``: what would be read, built and published, from listings, manifests and
    fingerprints; nothing written (no lock, no run record)."""
    from moviedl.stages.refine import refine as command

    options = command.RefineOptions.parse(stage, settings, force=force)
    if dry_run:
        from moviedl.stages.refine.plan import refine_plan

        return _in_session("refine", settings, lambda lake: refine_plan(settings, lake, options), session,
                           keep_record=False, read_only=True)
    return _in_session("refine", settings, lambda lake: command.refine(settings, lake, options), session)


def validate(
    settings: Settings, zone: str = "all", *, strict: bool = False, session: Session | None = None
) -> Summary:
    """Check every zone (or ``zone``) of the lake against the contract (``moviedl validate``);
    ``strict`` makes warnings fail."""
    from moviedl.stages.validate import validate as command

    options = command.ValidateOptions.parse(zone, strict)
    return _in_session(
        "validate", settings, lambda lake: command.validate(settings, lake, options), session, read_only=True
    )


def athena_ddl(settings: Settings, options: DdlOptions | None = None, *, session: Session | None = None) -> Summary:
    """Check the tables and emit their definitions (``moviedl athena-ddl``); ``options`` is a
    :class:`~moviedl.stages.catalog.athena_ddl.DdlOptions`. The DDL (or, with ``policy``, the IAM policies) is
    ``Summary.output`` — None when a check failed and nothing may be emitted. Policies are
    built from the settings alone: no lake access, no run record."""
    from moviedl.stages.catalog import athena_ddl as command

    chosen = options if options is not None else command.DdlOptions()

    def work(lake: Lake) -> Summary:
        result = command.athena_ddl(settings, lake, chosen)
        result.summary.output = result.script
        return result.summary

    if chosen.policy and session is None:
        return work(open_lake(settings))
    return _in_session("athena-ddl", settings, work, session, read_only=True)


def report(settings: Settings, options: ReportOptions | None = None, *, session: Session | None = None) -> Summary:
    """Write the self-contained HTML dashboard from the Refined zone (``moviedl report``);
    ``options`` is a :class:`~moviedl.stages.report.report.ReportOptions`."""
    from moviedl.stages.report import report as command

    chosen = options if options is not None else command.ReportOptions()
    return _in_session(
        "report", settings, lambda lake: command.build_report(settings, lake, chosen), session, read_only=True
    )


def glue_job_deploy(settings: Settings, options: DeployOptions | None = None) -> Summary:
    """Upload a wheel of moviedl and the job script to the lake's bucket, then create or update
    the Glue job that runs refine on Spark (``moviedl glue-job deploy``); ``options`` is a
    :class:`~moviedl.stages.glue_job.DeployOptions`. No lock and no run record: it writes only new
    objects under ``_moviedl/glue/``, which no reader or writer of the lake's data touches (the
    job's own refine takes the lock in the lake when it runs)."""
    from moviedl.stages import glue_job

    chosen = options if options is not None else glue_job.DeployOptions()
    return _in_session(
        "glue-job deploy", settings, lambda lake: glue_job.deploy(settings, lake, chosen), None,
        lock=False, keep_record=False,
    )


def glue_job_start(
    settings: Settings, stage: str = "all", *, wait: bool = False, wait_seconds: float | None = None
) -> Summary:
    """Start a run of the Glue job for ``settings.date`` (when given) and ``stage`` (``moviedl
    glue-job start``); with ``wait``, follow it to its end (exit 1 unless it SUCCEEDED). Writes
    nothing to the lake: the run's refine takes the lock there."""
    from moviedl.stages import glue_job

    return _in_session(
        "glue-job start", settings,
        lambda lake: glue_job.start(settings, lake, stage, wait=wait, wait_seconds=wait_seconds), None,
        lock=False, keep_record=False,
    )


def glue_job_status(settings: Settings, run_id: str | None = None, last: int = 10) -> Summary:
    """The newest ``last`` runs of the Glue job, newest first, or the run ``run_id`` (``moviedl
    glue-job status``). Asks Glue only: the lake is not opened."""
    from moviedl.stages import glue_job

    return glue_job.status(settings, run_id, last)


def runs(settings: Settings, last: int = 10) -> Summary:
    """The newest ``last`` run records, newest first (``moviedl runs``). Reads only."""
    from moviedl.storage.runs import recent_records

    lake = open_lake(settings)
    require_lake(lake)
    records = recent_records(lake, last)
    summary = Summary("runs", lake.uri, None, list(RUNS_COLUMNS))
    summary.rows = [_run_row(record) for record in records]
    summary.counts = {"runs": len(records)}
    return summary


def quicksight_deploy(settings: Settings, options: QuickSightOptions, *, session: Session | None = None) -> Summary:
    """Create or update the QuickSight data source, datasets and dashboard over the Athena views
    (``moviedl quicksight deploy``); ``options.dry_run`` prints the requests, calls no service."""
    from moviedl.stages.quicksight import deploy

    dry = options.dry_run
    return _in_session("quicksight deploy", settings, lambda lake: deploy.deploy(settings, lake, options), session,
                       keep_record=not dry, read_only=dry)


def quicksight_status(settings: Settings) -> Summary:
    """Each QuickSight resource moviedl deployed, its state and last refresh. Reads only."""
    from moviedl.stages.quicksight import deploy

    return _in_session("quicksight status", settings, lambda lake: deploy.status(settings, lake), None,
                       keep_record=False, read_only=True)


def quicksight_remove(settings: Settings) -> Summary:
    """Delete the QuickSight resources moviedl deployed (and only those)."""
    from moviedl.stages.quicksight import deploy

    return _in_session("quicksight remove", settings, lambda lake: deploy.remove(settings, lake), None)


def quicksight_refresh(settings: Settings, *, session: Session | None = None) -> Summary:
    """Refresh (SPICE ingestion) every dataset moviedl deployed: ``run``'s last stage."""
    from moviedl.stages.quicksight import deploy

    return _in_session("quicksight refresh", settings, lambda lake: deploy.refresh(settings, lake), session)


RUN_STAGE_COLUMNS = ["stage", "status", "exit_code", "seconds", "details"]


def run_show(settings: Settings, run_id: str) -> Summary:
    """One run in full from its record (``moviedl runs show RUN_ID``; a unique prefix of the id
    will do): each stage's outcome and counts, its problems, the checks that did not pass, and
    where and with what it ran. Reads only."""
    from moviedl.core.summary import Check, Status
    from moviedl.storage.runs import find_record

    lake = open_lake(settings)
    require_lake(lake)
    record = find_record(lake, run_id)
    summary = Summary("runs show", lake.uri, record.get("date"), list(RUN_STAGE_COLUMNS))
    stages = [s for s in record.get("stages") or [] if isinstance(s, dict)]
    for stage in stages:
        counts = {k: v for k, v in (stage.get("counts") or {}).items() if isinstance(v, int | float)}
        code = stage.get("exit_code")
        summary.rows.append({
            "stage": stage.get("stage"), "status": "ok" if code == 0 else "failed", "exit_code": code,
            "seconds": stage.get("seconds"), "counts": counts,
            "details": ", ".join(f"{k} {v:,}" for k, v in counts.items()) or "; ".join(stage.get("problems") or []),
        })
        for problem in stage.get("problems") or []:
            summary.notes.append(f"{stage.get('stage')}: {problem}")
        for check in stage.get("checks") or []:
            if check.get("status") in (Status.WARN, Status.FAIL):
                summary.checks.append(Check(check.get("name", ""), check.get("target", ""), check.get("observed", ""),
                                            Status(check["status"]), check.get("expected", ""),
                                            tuple(check.get("samples") or ())))
    checks = [c for stage in stages for c in stage.get("checks") or []]
    summary.counts = {"stages": len(stages), "failed": sum(r["exit_code"] not in (0, None) for r in summary.rows),
                      "checks": len(checks), "checks_passed": sum(c.get("status") == Status.PASS for c in checks)}
    code = record.get("exit_code")
    outcome = "still running, or killed (no end recorded)" if code is None else f"exit {code}"
    summary.notes[:0] = [
        f"run {record.get('run_id')}: moviedl {' '.join(record.get('argv') or [record.get('command', '?')])}",
        f"started {record.get('started_at')}, ended {record.get('ended_at') or '-'}"
        f" ({record.get('duration_seconds')} s) on {record.get('host')}: {outcome}"
        + (f": {record['error']}" if record.get("error") else ""),
    ]
    if record.get("versions"):
        summary.notes.append("versions: " + ", ".join(f"{k} {v}" for k, v in record["versions"].items()))
    return summary


def init(path: Path, *, force: bool = False) -> Summary:
    """Write a starter config (``moviedl init``): every setting commented, with its help and
    default; say what to set next."""
    from moviedl.core.starter import write_starter_config

    written = write_starter_config(path, force=force)
    summary = Summary("init", "", None, ["file", "status"])
    summary.rows = [{"file": str(written), "status": "written"}]
    summary.counts = {"files": 1}
    summary.notes += [
        f"next: set lake in {written} (a folder, or s3://bucket/prefix); every setting is there, commented",
        "TMDB enrichment: export TMDB_READ_ACCESS_TOKEN=... (https://www.themoviedb.org/settings/api)",
        "then: moviedl run movies.csv series.csv, from this folder or any folder below it",
        "moviedl config show prints what is in effect and where each value came from",
    ]
    return summary


def _run_row(record: dict[str, Any]) -> dict[str, Any]:
    stages = record.get("stages") or []
    return {
        "run_id": record.get("run_id"),
        "command": record.get("command"),
        "started_at": record.get("started_at"),
        "seconds": record.get("duration_seconds"),
        "exit_code": record.get("exit_code"),
        "stages": [{"stage": s.get("stage"), "exit_code": s.get("exit_code")} for s in stages],
        "error": record.get("error") or "",
    }


def config_show(settings: Settings) -> Summary:
    """Every effective setting and where it came from, secrets masked (``moviedl config show``)."""
    summary = Summary("config show", settings.lake, settings.date.isoformat(), list(CONFIG_COLUMNS))
    summary.rows = settings.describe()
    summary.counts = {"settings": len(summary.rows)}
    if settings.config_file:
        summary.notes.append(f"config file: {settings.config_file}")
    return summary
