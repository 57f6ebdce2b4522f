"""``refine``: Raw -> Trusted -> Refined, and nothing published unaudited.

One run: build every output of a stage into the staging area (:mod:`moviedl.stages.refine.trusted`,
:mod:`moviedl.stages.refine.star_schema`), audit each one by reading back what was written (:mod:`moviedl.checks.audit`
— the same checks ``validate`` runs), and only when every output of the stage passed, publish
them all (:mod:`moviedl.stages.refine.publish`). A failed audit publishes nothing of that stage, keeps the
previous version, names the table and check, and exits 1. The Refined stage runs after the
Trusted stage has published, and is rebuilt from every Trusted partition.

Which dates the Trusted stage builds: ``--date D`` builds that date's partitions; without it,
the latest Raw date plus every earlier Raw date whose Trusted partition is missing (catch-up).

Everything runs on one :class:`~moviedl.engines.base.Engine` chosen by ``refine.engine``
(:func:`~moviedl.engines.open_engine`: DuckDB, or Spark with ``--engine spark``).

When it fails: a full disk anywhere refine writes (scratch, staging, publishing) stops it with
:class:`~moviedl.core.errors.DiskFullError` (exit 3) naming the path and what was published; an
engine failing while it builds a table with :class:`~moviedl.core.errors.EngineError` (exit 3)
naming the engine, the stage and the table, the engine's error chained and its whole text in the
debug log; only a Trusted file the engine cannot read while building Refined is a data failure
(exit 1, "the Trusted zone ... could not be read"). :func:`moviedl.stages.refine.plan.refine_plan`
says what a run would do without doing it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from moviedl.checks.audit import Audit, Dataset, Reconciliation, audit, readable
from moviedl.checks.values import (
    apply_severity,
    fact_covers_trusted,
    quarantine_share,
    tmdb_coverage,
    value_checks,
)
from moviedl.core import interrupt, progress
from moviedl.core.config import Settings
from moviedl.core.contract import (
    DIM_FILMES,
    DIM_GENERO,
    FATO_FILME,
    QUARANTINE,
    REFINED_TABLES,
    TRUSTED_TABLES,
    Table,
)
from moviedl.core.errors import (
    DataCheckError,
    EngineError,
    ExitCode,
    MoviedlError,
    UsageError,
)
from moviedl.core.scratch import reclaimed_note
from moviedl.core.sources import KINDS
from moviedl.core.summary import Check, Status, Summary
from moviedl.engines import open_engine
from moviedl.engines.base import Engine
from moviedl.stages.refine import compaction, fingerprints, lake_checks
from moviedl.stages.refine.failures import Progress, disk_full, first_line, story
from moviedl.stages.refine.publish import (
    DEFAULT_KEEP_VERSIONS,
    Publisher,
    Staged,
    Workspace,
    clean_stale_staging,
)
from moviedl.stages.refine.star_schema import (
    Inputs,
    build_refined,
    drop_work_tables,
    register_inputs,
)
from moviedl.stages.refine.star_schema import tmdb_coverage as coverage
from moviedl.stages.refine.trusted import (
    CSV_TABLES,
    TMDB_TABLES,
    RawInventory,
    build_csv,
    build_tmdb,
    raw_inventory,
    trusted_partitions,
)
from moviedl.storage.lake import Lake

log = logging.getLogger(__name__)

COLUMNS = ["table", "rows_in", "rows_out", "duplicates", "quarantined", "files", "bytes", "status"]
#: the status of a table --force rebuilt to the very bytes already published (nothing replaced)
REBUILT_IDENTICAL = "rebuilt, identical"


class Stage(StrEnum):
    trusted = "trusted"
    refined = "refined"
    all = "all"


@dataclass(frozen=True)
class RefineOptions:
    stage: Stage = Stage.all
    keep_versions: int = DEFAULT_KEEP_VERSIONS
    force: bool = False  # rebuild tables whose inputs did not change (moviedl.stages.refine.fingerprints)

    @property
    def may_skip(self) -> bool:
        """Whether unchanged tables may be skipped (not with --force)."""
        return not self.force

    @classmethod
    def parse(cls, stage: str = "all", settings: Settings | None = None, force: bool = False) -> RefineOptions:
        """Options for the CLI: ``stage`` checked, ``keep_versions`` from the settings (else the
        default)."""
        try:
            chosen = Stage(stage)
        except ValueError:
            raise UsageError(f"--stage must be trusted, refined or all, not {stage!r}") from None
        keep = settings.refine_keep_versions if settings is not None else DEFAULT_KEEP_VERSIONS
        return cls(chosen, keep, force)


@dataclass
class _Run:
    settings: Settings
    lake: Lake
    options: RefineOptions
    summary: Summary
    engine: Engine
    ws: Workspace
    prints: fingerprints.Fingerprints
    code: str  # moviedl.stages.refine.fingerprints.code_fingerprint
    lake_checks: list[Check] = field(default_factory=list)  # Refined checks of no one table
    compacted: compaction.Plan | None = None  # what the Refined stage read, to compact after publish
    skipped: list[str] = field(default_factory=list)  # tables whose inputs did not change
    progress: Progress = field(default_factory=Progress)
    trusted: dict[str, str] = field(default_factory=dict)  # Trusted key -> stamp Refined is built from


@contextlib.contextmanager
def _timed(run: _Run, phase: str) -> Iterator[None]:
    """Add the seconds spent in the block to ``phase`` in the summary's timings (run record, -v)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        spent = run.summary.timings.get(phase, 0.0) + time.perf_counter() - start
        run.summary.timings[phase] = round(spent, 3)


def refine(settings: Settings, lake: Lake, options: RefineOptions | None = None) -> Summary:
    """Run the stage(s) of ``options`` and return the summary (exit code 1 when an audit failed)."""
    options = options or RefineOptions()
    summary = Summary("refine", lake.uri, None, COLUMNS)
    lake.check()
    days: list[str] = []
    inventory = RawInventory()
    if options.stage in (Stage.trusted, Stage.all):
        inventory = raw_inventory(lake)
        days = dates_to_build(settings, lake, inventory)
        summary.date = ", ".join(days)
    state = Progress()
    with disk_full(state), Workspace(lake) as ws:
        if note := reclaimed_note(ws.reclaimed):
            summary.notes.append(note)
        clean_stale_staging(lake, ws.run_id)
        engine: Engine = open_engine(settings, ws.scratch)
        prints = fingerprints.Fingerprints.load(lake)
        code = fingerprints.code_fingerprint(settings, engine.name)
        run = _Run(settings, lake, options, summary, engine, ws, prints, code, progress=state)
        try:
            ok = True
            if options.stage in (Stage.trusted, Stage.all):
                ok = _stage(run, "Trusted", _build_trusted(run, inventory, days))
            if ok and options.stage in (Stage.refined, Stage.all):
                run.trusted = fingerprints.trusted_stamps(lake)
                inputs = fingerprints.refined_inputs(code, run.trusted)
                if not _skip_unchanged(run, list(REFINED_TABLES), None, inputs):
                    published = _stage(run, "Refined", _build_refined(run, inputs))
                    if published and run.compacted is not None:
                        progress.activity("keeping the latest snapshot of each title (compaction)")
                        state.publishing = "compaction"
                        with _timed(run, "compacting"):
                            compaction.save(engine, lake, ws.staged_path, code, run.compacted)
                        state.publishing = None
        except engine.out_of_memory as exc:
            raise engine.out_of_memory_error(exc, "; nothing more was published") from None
        finally:
            engine.close()
    if run.skipped:
        summary.notes.append(
            f"inputs unchanged since the last publish, skipped: {', '.join(run.skipped)} "
            "(refine --force rebuilds them)"
        )
    _count(run)
    return summary


# --- choosing the work ------------------------------------------------------------------------


def dates_to_build(settings: Settings, lake: Lake, inventory: RawInventory) -> list[str]:
    """The Raw dates the Trusted stage builds: ``--date``'s, or the latest plus every earlier one
    whose Trusted partition is missing (UsageError when the Raw zone has none of them)."""
    if not inventory.dates:
        raise UsageError(
            f"the Raw zone of {lake.uri} holds no CSV or TMDB files",
            hint="Run 'moviedl ingest-csv movies.csv series.csv --date YYYY-MM-DD' first.",
        )
    if settings.date_given:
        day = settings.date.isoformat()
        if day not in inventory.dates:
            raise UsageError(
                f"no Raw data for {day} in {lake.uri}; dates with Raw data: {', '.join(inventory.dates)}"
            )
        return [day]
    published = {table.name: trusted_partitions(lake, table) for table in TRUSTED_TABLES}
    missing = []
    for day in inventory.dates:
        wanted = [CSV_TABLES[kind] for kind in inventory.csv.get(day, {})]
        wanted += [TMDB_TABLES[folder] for folder in inventory.tmdb.get(day, {})]
        if any(day not in published[table.name] for table in wanted):
            missing.append(day)
    return sorted({*missing, inventory.dates[-1]})


def _build_trusted(run: _Run, inventory: RawInventory, days: list[str]) -> list[Staged]:
    outputs = []
    for day in days:
        for kind in KINDS:
            key = inventory.csv.get(day, {}).get(kind.name)
            if key:
                table = CSV_TABLES[kind.name]
                inputs = fingerprints.csv_inputs(run.code, key, inventory.sizes)
                if _skip_unchanged(run, [table], day, inputs):
                    continue
                progress.activity(f"typing {kind.file_name} of {day}")
                with _timed(run, "typing CSV"), _building(run, "Trusted", f"{table.name} dt={day}"):
                    out = build_csv(run.engine, run.ws, kind, day, key, severity=run.settings.checks_severity)
                out.fingerprint = inputs
                outputs.append(out)
            elif day in inventory.csv:
                run.summary.notes.append(
                    f"{day}: no {kind.file_name} in the Raw zone; its Trusted table keeps the "
                    "partitions of other dates"
                )
        for folder, table in TMDB_TABLES.items():
            keys = inventory.tmdb.get(day, {}).get(folder)
            if keys:
                inputs = fingerprints.tmdb_inputs(run.code, keys, inventory.sizes)
                if _skip_unchanged(run, [table], day, inputs):
                    continue
                progress.activity(f"typing TMDB {folder} of {day} ({len(keys)} files)")
                with _timed(run, "typing TMDB"), _building(run, "Trusted", f"{table.name} dt={day}"):
                    out = build_tmdb(run.engine, run.ws, folder, day, keys, severity=run.settings.checks_severity)
                out.fingerprint = inputs
                if out.rows_in:
                    outputs.append(out)
                else:
                    run.summary.notes.append(
                        f"{day}: the TMDB {folder} files hold no records; skipped"
                    )
    if run.options.stage is Stage.trusted and not any(day in inventory.tmdb for day in days):
        run.summary.notes.append(
            f"no TMDB data for {', '.join(days)} (run 'moviedl ingest-tmdb' to enrich)"
        )
    return outputs


def _skip_unchanged(run: _Run, tables: list[Table], day: str | None, inputs: str) -> bool:
    """Skip ``tables`` (of partition ``day``) when each was published from the same ``inputs``
    and is still in the lake as published: a summary row each, nothing read or written."""
    if not run.options.may_skip:
        return False
    same = fingerprints.unchanged(run.lake, run.prints, tables, day, inputs)
    if same is None:
        return False
    for table, entry, found in same:
        target = f"{table.name} dt={day}" if day else table.name
        run.summary.rows.append({
            "table": target, **{c: entry.counts.get(c) for c in ("rows_in", "rows_out", "duplicates", "quarantined")},
            "files": 1, "bytes": found.size, "status": "unchanged",
        })
        run.skipped.append(target)
    return True


def _build_refined(run: _Run, inputs: str) -> list[Staged]:
    progress.activity("building the star schema")
    with _timed(run, "building the star schema"):
        return _star_schema(run, inputs)


def _star_schema(run: _Run, inputs: str) -> list[Staged]:
    # --force reads every partition (and rewrites the compacted state from them)
    with _building(run, "Refined", "the Trusted inputs", reading=True):
        trusted = register_inputs(run.engine, run.ws, None if run.options.force else run.code)
    run.compacted = trusted.plan
    if trusted.plan.from_state:
        run.summary.notes.append(
            f"Refined read {trusted.plan.from_state} Trusted partition(s) through the compacted "
            f"current state and {len(trusted.plan.covered) - trusted.plan.from_state} new one(s)"
        )
    elif trusted.plan.note:
        run.summary.notes.append(trusted.plan.note)
    if not trusted.has_titles:
        raise UsageError(
            f"the Trusted zone of {run.lake.uri} is empty: nothing to build Refined from",
            hint="Run 'moviedl refine' (all stages) after 'moviedl ingest-csv'.",
        )
    outputs = build_refined(run.engine, run.ws, trusted,
                            step=lambda what: _building(run, "Refined", what, trusted))
    for out in outputs:
        out.fingerprint = inputs
    with _building(run, "Refined", DIM_FILMES.name, trusted):
        enriched, titles = coverage(run.engine)
    if trusted.has_tmdb:
        run.summary.notes.append(f"TMDB: {enriched:,} of {titles:,} titles enriched")
    else:
        run.summary.notes.append(
            "no TMDB data in the Trusted zone yet: Refined TMDB columns are NULL"
        )
    latest = max((d for parts in trusted.partitions.values() for d in parts), default=None)
    run.lake_checks = [
        tmdb_coverage(DIM_FILMES.name, enriched, titles, run.settings.validate_min_tmdb_coverage),
        lake_checks.freshness("lake", dt.date.fromisoformat(latest) if latest else None,
                              run.settings.validate_max_age_days),
    ]
    with _building(run, "Refined", "the star schema's work tables"):
        drop_work_tables(run.engine)
    return outputs


# --- when it fails ----------------------------------------------------------------------------


@contextlib.contextmanager
def _building(
    run: _Run, stage: str, target: str, trusted: Inputs | None = None, *, reading: bool = False
) -> Iterator[None]:
    """An engine failure in the block as the user should read it: a Trusted file the engine
    cannot read (``reading``: the block only reads Trusted; ``trusted``: the error names one of
    its files) is bad data, exit 1; anything else the engine failing to build ``target`` of
    ``stage``, exit 3. The engine's error is chained, its whole text logged at debug level."""
    engine = run.engine
    try:
        yield
    except engine.out_of_memory:
        raise
    except engine.errors as exc:
        if interrupt.is_interrupt(exc):
            raise
        cause = first_line(exc)
        unread = _unread_file(run, exc, trusted)
        error: MoviedlError
        if reading or unread is not None:
            where = f"{unread}: " if unread else ""
            error = DataCheckError(
                f"the Trusted zone of {run.lake.uri} could not be read by {engine.label}: {where}{cause}",
                hint="Nothing of the Refined stage was published. Run 'moviedl validate --zone "
                "trusted' to find the damaged partition.",
            )
        else:
            done = f" (the {' and '.join(run.progress.published)} stage was)" if run.progress.published else ""
            error = EngineError(
                f"the {engine.label} engine failed building {target} ({stage} stage): {cause}",
                hint=f"Nothing of the {stage} stage was published{done}. The engine's whole "
                "message is in the debug log (-vv; MOVIEDL_DEBUG=1 adds the traceback).",
            )
        log.debug("%s; the engine said:\n%s", error.message, story(exc))
        raise error from exc


def _unread_file(run: _Run, exc: Exception, trusted: Inputs | None) -> str | None:
    """The Trusted (or compacted state) file an engine's input error names, as a lake URI."""
    if trusted is None or not isinstance(exc, run.engine.input_errors):
        return None
    text = str(exc)
    for key in trusted.sources:
        if str(run.ws.input_path(key)) in text:
            return run.lake.uri_of(key)
    return None


# --- audit, then publish ----------------------------------------------------------------------


def _stage(run: _Run, zone: str, outputs: list[Staged]) -> bool:
    """Audit every output with every check ``validate`` runs; publish them all only if no check
    failed (after ``checks.severity``: a check set to ``warn`` never blocks, ``error`` always)."""
    if not outputs:  # nothing to build (every table skipped as unchanged, or no input)
        return True
    audits = []
    for number, out in enumerate(outputs, 1):
        progress.activity(f"auditing {out.target}, {number} of {len(outputs)} ({out.rows_written:,} rows)")
        with _timed(run, "auditing"):
            audits.append(_audit(run, out, outputs))
    if zone == "Refined":  # each check of the whole star with the table it names
        by_table = {out.table.name: result for out, result in zip(outputs, audits, strict=True)}
        for check in _star_checks(run, outputs):
            by_table.get(check.target, audits[-1]).checks.append(check)
    severity = run.settings.checks_severity
    for out, result in zip(outputs, audits, strict=True):
        result.checks = apply_severity(result.checks, severity)
        run.summary.checks.extend(result.checks)
        if out.quarantined:
            run.summary.notes.extend(f"quarantined: {reason}" for reason in out.quarantine_reasons)
            if out.quarantined > len(out.quarantine_reasons):
                run.summary.notes.append(
                    f"... {out.quarantined - len(out.quarantine_reasons):,} more "
                    f"in {run.lake.uri_of(out.quarantine_key or '')}"
                )
        run.summary.rows.append(_row(out, result))
    failed = [
        (out, result) for out, result in zip(outputs, audits, strict=True) if not result.passed
    ]
    if failed:
        for _out, result in failed:
            for check in result.failures:
                run.summary.problems.append(f"audit failed: {check.describe()}")
                run.summary.problems.extend(f"  e.g. {sample}" for sample in check.samples)
        run.summary.problems.append(
            f"nothing of the {zone} stage was published; the previous version stays readable"
        )
        for row, out in zip(run.summary.rows[-len(outputs) :], outputs, strict=True):
            row["status"] = "failed audit" if any(o is out for o, _ in failed) else "not published"
        run.summary.fail(ExitCode.CHECK_FAILED)
        return False
    progress.activity(f"publishing {len(outputs)} {zone} table(s)")
    run.progress.publishing = zone
    with _timed(run, "publishing"):
        Publisher(run.lake, run.ws, run.options.keep_versions).publish_all(outputs)
    rows = run.summary.rows[-len(outputs) :] if outputs else []
    for row, out in zip(rows, outputs, strict=True):
        # --force rebuilt it to the bytes already published: say so, not "unchanged" (skipped)
        forced = run.options.force and out.status == "unchanged"
        row["status"] = REBUILT_IDENTICAL if forced else out.status
    for out in outputs:
        run.summary.notes.extend(out.notes)
    _record(run, outputs, rows)
    run.progress.publishing = None
    if any(out.status == "published" for out in outputs):  # something in the lake replaced
        run.progress.published.append(zone)
    return True


def _record(run: _Run, outputs: list[Staged], rows: list[dict[str, object]]) -> None:
    """Remember what each published output was built from (its stamp read back from the lake)
    and, for the Refined stage, the Trusted objects it was built from."""
    stamps = fingerprints.stamps(run.lake, {out.table.prefix(out.dt) for out in outputs})
    for out, row in zip(outputs, rows, strict=True):
        if out.fingerprint is not None:
            counts = {c: row.get(c) for c in ("rows_in", "rows_out", "duplicates", "quarantined")}
            run.prints.record(out.key, out.fingerprint, stamps.get(out.key), counts)
    if any(out.table.zone == "refined" for out in outputs):
        run.prints.built_from(run.trusted)
    run.prints.save(run.lake)


def _star_checks(run: _Run, outputs: list[Staged]) -> list[Check]:
    """The checks of the star schema as a whole, as ``validate`` runs them on the lake: FatoFilme
    covers every (title, genre) of Trusted; TMDB coverage and freshness (warnings)."""
    staged = {out.table.name: Dataset(out.table, (str(out.path),)) for out in outputs}
    found = list(run.lake_checks)
    if all(t.name in staged for t in (FATO_FILME, DIM_FILMES, DIM_GENERO)):
        views = {name: ds.register(run.engine) for name, ds in staged.items()}
        found.insert(0, fact_covers_trusted(
            run.engine, FATO_FILME.name, views[FATO_FILME.name], views[DIM_FILMES.name],
            views[DIM_GENERO.name], "v_trusted_pairs",
        ))
    return found


def _audit(run: _Run, out: Staged, siblings: list[Staged]) -> Audit:
    location = run.lake.uri_of(out.table.prefix(out.dt))
    ds = Dataset(out.table, (str(out.path),), out.dt, location)
    recon = None
    if out.table.zone == "trusted":
        quarantined = 0
        if out.quarantine_path is not None:
            _check, rows = readable(
                run.engine, Dataset(QUARANTINE, (str(out.quarantine_path),), out.dt)
            )
            quarantined = sum(rows.values()) if rows else 0
        recon = Reconciliation(out.rows_in, out.duplicates or 0, quarantined, out.rows_in_label)
    else:
        recon = Reconciliation(out.rows_in, 0, 0, out.rows_in_label)
    parents = {
        s.table.name: Dataset(s.table, (str(s.path),), s.dt)
        for s in siblings
        if s.table.zone == out.table.zone
    }
    result = audit(run.engine, ds, input_rows=out.rows_in, reconciliation=recon, parents=parents)
    if any(c.name == "schema" and c.status is Status.PASS for c in result.checks):
        result.checks += value_checks(
            run.engine, ds.register(run.engine), ds, result.rows, run.settings.checks_severity
        )
    if out.table.zone == "trusted":
        result.checks.append(quarantine_share(
            out.target, out.quarantined or 0, out.rows_in,
            run.settings.checks_quarantine_warn_share, run.settings.checks_quarantine_fail_share,
        ))
    return result


def _row(out: Staged, result: Audit) -> dict[str, object]:
    return {
        "table": out.target,
        "rows_in": out.rows_in,
        "rows_out": result.rows,
        "duplicates": out.duplicates,
        "quarantined": out.quarantined,
        "files": 1,
        "bytes": out.path.stat().st_size if out.path.exists() else None,
        "status": out.status,
    }


def _count(run: _Run) -> None:
    statuses = [str(row["status"]) for row in run.summary.rows]
    run.summary.counts = {
        "tables": len(statuses),
        "published": statuses.count("published"),
        "unchanged": statuses.count("unchanged"),
        "not_published": sum(s in ("failed audit", "not published") for s in statuses),
        "rows_out": sum(int(row["rows_out"] or 0) for row in run.summary.rows),
        "duplicates": sum(int(row["duplicates"] or 0) for row in run.summary.rows),
        "quarantined": sum(int(row["quarantined"] or 0) for row in run.summary.rows),
        "checks_failed": sum(c.status is Status.FAIL for c in run.summary.checks),
        "rebuilt_identical": statuses.count(REBUILT_IDENTICAL),  # last: `run` shows the first five
    }
