"""``validate``: check every zone of a lake — including one written by other tools — and say what
holds and what does not.

* **Raw** (one ingestion date): :mod:`moviedl.stages.validate.raw` — each expected CSV present, the
  ``ingest-csv`` inspection re-run on the stored file, SHA-256/size/rows as its manifest recorded;
  TMDB JSON files parse, ≤ 100 records, ≤ 10 MB, one kind per file, no IMDb id twice.
* **Trusted** (the same date): every table's partition through :func:`moviedl.checks.audit.audit` —
  the very checks ``refine`` runs before publishing — with the row accounting each file carries
  in its metadata reconciled against Raw; then the value checks (columns carrying data, value
  ranges, IMDb id format).
* **Refined**: every table through :func:`~moviedl.checks.audit.audit` (keys, foreign keys) and the value
  checks; FatoFilme covers every (title, genre) of Trusted; TMDB coverage and freshness (warnings);
  and, when it fails, that Refined was built from the Trusted published now
  (:mod:`moviedl.stages.refine.lake_checks`), listed before the failures it causes.

A damaged manifest is damaged lake content: a failed ``manifest`` check, not a stop.

Every check becomes a :class:`~moviedl.core.summary.Check` in the summary; one row per dataset gives
its zone, files, rows, bytes and worst status. Exit 1 when a check fails, or when one warns and
``strict`` is set. Nothing is written to the lake except the run record.

validate runs on DuckDB (it checks any lake from one machine): the Trusted and Refined checks go
through the :class:`~moviedl.engines.base.Engine` seam, the very code of refine's audit; the Raw JSON
checks (:mod:`moviedl.stages.validate.raw`, given the DuckDB connection) and the count of Raw records
(``read_json_objects``) are DuckDB's own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from moviedl.checks.audit import Dataset, Reconciliation, audit, readable
from moviedl.checks.values import (
    apply_severity,
    fact_covers_trusted,
    quarantine_share,
    tmdb_coverage,
    value_checks,
)
from moviedl.core import progress
from moviedl.core.config import Settings
from moviedl.core.contract import (
    DIM_FILMES,
    DIM_GENERO,
    FATO_FILME,
    META_DUPLICATES,
    META_QUARANTINED,
    META_ROWS_READ,
    META_SOURCES,
    PARTITION_COLUMN,
    QUARANTINE,
    REFINED_TABLES,
    TRUSTED_TABLES,
    Table,
)
from moviedl.core.errors import ExitCode, UsageError
from moviedl.core.scratch import ScratchDir, reclaimed_note
from moviedl.core.sources import KINDS, RAW_TMDB_KEY
from moviedl.core.summary import Check, Status, Summary
from moviedl.engines import open_engine
from moviedl.engines.base import Engine, one, scalar
from moviedl.stages.refine import lake_checks
from moviedl.stages.refine.publish import Workspace
from moviedl.stages.refine.star_schema import register_inputs
from moviedl.stages.refine.trusted import CSV_TABLES, TMDB_TABLES, raw_inventory, trusted_partitions
from moviedl.stages.validate.raw import RawResult, check_csv, check_tmdb
from moviedl.storage.lake import Lake
from moviedl.storage.manifest import DamagedManifest, RawManifest, read_manifest

COLUMNS = ["zone", "dataset", "files", "rows", "bytes", "checks", "status"]
MAX_PROBLEMS = 20
_RANK = {Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2}


class Zone(StrEnum):
    raw = "raw"
    trusted = "trusted"
    refined = "refined"
    all = "all"


@dataclass(frozen=True)
class ValidateOptions:
    zone: Zone = Zone.all
    strict: bool = False  # warnings fail too (exit 1)
    today: dt.date | None = None  # for freshness; default: today (UTC)

    @classmethod
    def parse(cls, zone: str = "all", strict: bool = False) -> ValidateOptions:
        try:
            chosen = Zone(zone)
        except ValueError:
            raise UsageError(f"--zone must be raw, trusted, refined or all, not {zone!r}") from None
        return cls(chosen, strict)

    def covers(self, zone: Zone) -> bool:
        return self.zone in (zone, Zone.all)


class _Files:
    """Local files the engine can read: in place for a local lake, downloaded once from S3."""

    def __init__(self, lake: Lake, root: Path) -> None:
        self.lake, self.root = lake, root

    def input_path(self, key: str) -> Path:
        return self.lake.local_path(key, self.root)


@dataclass
class _Run:
    settings: Settings
    lake: Lake
    options: ValidateOptions
    engine: Engine  # DuckDB: the Raw checks read JSON with it
    files: _Files
    summary: Summary
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # dataset -> summary row

    def dataset(self, zone: str, target: str, files: int, rows: int | None, size: int | None) -> None:
        self.rows[target] = {"zone": zone, "dataset": target, "files": files, "rows": rows,
                             "bytes": size, "checks": 0, "status": Status.PASS.value}

    def add(self, checks: list[Check]) -> None:
        for check in apply_severity(checks, self.settings.checks_severity):
            self.summary.checks.append(check)
            row = self.rows[check.target]
            row["checks"] += 1
            if _RANK[check.status] > _RANK[Status(row["status"])]:
                row["status"] = check.status.value


def validate(settings: Settings, lake: Lake, options: ValidateOptions | None = None) -> Summary:
    """Check the zones of ``options`` and return the summary (exit code 1 when a check failed)."""
    options = options or ValidateOptions()
    summary = Summary("validate", lake.uri, None, COLUMNS)
    lake.check()
    with ScratchDir("validate") as scratch:
        if note := reclaimed_note(scratch.reclaimed):
            summary.notes.append(note)
        (scratch.path / "scratch").mkdir()
        engine = open_engine(settings, scratch.path / "scratch", "duckdb")
        run = _Run(settings, lake, options, engine, _Files(lake, scratch.path / "inputs"), summary)
        try:
            if options.covers(Zone.raw) or options.covers(Zone.trusted):
                _dated_zones(run)
            if options.covers(Zone.refined):
                _refined(run)
        except engine.out_of_memory as exc:
            raise engine.out_of_memory_error(exc) from None
        finally:
            engine.close()
    _conclude(run)
    return summary


# --- Raw and Trusted: one ingestion date -----------------------------------------------------


def _partitions(lake: Lake, table: Table) -> dict[str, list[str]]:
    """``dt`` -> Parquet keys of a Trusted table, empty partition folders included."""
    found = trusted_partitions(lake, table)
    for name in lake.folders(table.prefix()):
        if name.startswith(f"{PARTITION_COLUMN}="):
            found.setdefault(name.split("=", 1)[1], [])
    return found


def _dated_zones(run: _Run) -> None:
    inventory = raw_inventory(run.lake)
    partitions = {table.name: _partitions(run.lake, table) for table in TRUSTED_TABLES}
    dates = sorted(set(inventory.dates).union(*(set(p) for p in partitions.values())))
    if not dates:
        raise UsageError(
            f"{run.lake.uri} holds no Raw or Trusted data",
            hint="Check --lake; or run 'moviedl ingest-csv' and 'moviedl refine' first.",
        )
    day = dates[-1]
    if run.settings.date_given:
        day = run.settings.date.isoformat()
        if day not in dates:
            raise UsageError(
                f"{run.lake.uri} holds no Raw or Trusted data for {day}; dates: {', '.join(dates)}"
            )
    run.summary.date = day
    if run.options.covers(Zone.raw):
        _raw(run, day, inventory.csv.get(day, {}))
    if run.options.covers(Zone.trusted):
        raw_has = {CSV_TABLES[k].name for k in inventory.csv.get(day, {})}
        raw_has |= {TMDB_TABLES[f].name for f in inventory.tmdb.get(day, {})}
        for table in TRUSTED_TABLES:
            keys = partitions[table.name].get(day)
            if keys is None:
                _missing_partition(run, table, day, table.name in raw_has)
            else:
                _trusted(run, table, day, keys)


def _raw(run: _Run, day: str, csv_keys: dict[str, str]) -> None:
    progress.activity(f"checking Raw {day}")
    date = dt.date.fromisoformat(day)
    results: list[RawResult] = []
    for kind in KINDS:
        key = kind.raw_key(date)
        result = check_csv(run.lake, kind, key, csv_keys.get(kind.name) == key)
        if csv_keys and kind.name not in csv_keys and not run.lake.exists(RawManifest.key_for(key)):
            # a date of movies only (or series only); a file ingest-csv stored and lost still fails
            result.checks = [
                replace(c, status=Status.WARN,
                        observed=f"not ingested for {day} (the date holds {', '.join(csv_keys)} only)")
                for c in result.checks
            ]
        results.append(result)
    tmdb: dict[str, list[tuple[str, int]]] = {}
    for info in run.lake.list_objects("Raw/TMDB/JSON/"):
        match = RAW_TMDB_KEY.match(info.key)
        if match and "-".join(match.group(2, 3, 4)) == day:
            tmdb.setdefault(match.group(1), []).append((info.key, info.size))
    if tmdb:
        results += check_tmdb(run.engine, run.lake, day, tmdb, run.files.input_path)
    else:
        run.summary.notes.append(f"no TMDB JSON in the Raw zone for {day}")
    for result in results:
        run.dataset("raw", result.target, result.files, result.rows, result.bytes)
        run.add(result.checks)


def _missing_partition(run: _Run, table: Table, day: str, raw_has_data: bool) -> None:
    if not raw_has_data:
        run.summary.notes.append(f"{table.name}: no partition and no Raw data for {day}")
        return
    target = f"{table.name} dt={day}"
    run.dataset("trusted", target, 0, None, None)
    run.add([Check("present", target, f"no partition {run.lake.uri_of(table.prefix(day))}",
                   Status.FAIL, "a partition for every Raw date (run 'moviedl refine')")])


def _trusted(run: _Run, table: Table, day: str, keys: list[str]) -> None:
    progress.activity(f"checking {table.name} dt={day}")
    ds = Dataset(table, tuple(str(run.files.input_path(k)) for k in keys), day,
                 run.lake.uri_of(table.prefix(day)))
    damaged: list[Check] = []
    recon = _reconciliation(run, table, day, ds, damaged)
    result = audit(run.engine, ds, input_rows=recon.rows_in if recon else None, reconciliation=recon)
    checks = [*damaged, *result.checks]
    if recon is None and result.rows is not None and _schema_ok(checks):
        checks.append(Check("rows reconcile", ds.target,
                            "no moviedl row accounting in the file metadata: cannot reconcile",
                            Status.WARN, "rows in = rows out + duplicates + quarantined"))
    if _schema_ok(checks):
        checks += value_checks(run.engine, ds.register(run.engine), ds, result.rows,
                               run.settings.checks_severity)
    if recon is not None:
        checks.append(quarantine_share(ds.target, recon.quarantined, recon.rows_in,
                                       run.settings.checks_quarantine_warn_share,
                                       run.settings.checks_quarantine_fail_share))
    run.dataset("trusted", ds.target, len(keys), result.rows,
                 sum(run.lake.size(k) or 0 for k in keys))
    run.add(checks)


def _schema_ok(checks: list[Check]) -> bool:
    return any(c.name == "schema" and c.status is Status.PASS for c in checks)


def _reconciliation(
    run: _Run, table: Table, day: str, ds: Dataset, damaged: list[Check]
) -> Reconciliation | None:
    """Rows in (the Raw manifest or records), duplicates (file metadata) and quarantined (the
    quarantine file) of a Trusted partition; None when the files carry no row accounting. A
    damaged manifest: rows read instead, and (when the Raw checks do not run, which report it)
    a failed ``manifest`` check added to ``damaged``."""
    try:
        metas = [run.engine.parquet_metadata(path) for path in ds.files]
    except run.engine.errors:
        return None
    if not metas or any(META_ROWS_READ not in m for m in metas):
        return None
    try:
        rows_read = sum(int(m[META_ROWS_READ]) for m in metas)
        duplicates = sum(int(m.get(META_DUPLICATES) or 0) for m in metas)
    except ValueError:
        return None
    sources = [s for m in metas for s in (m.get(META_SOURCES) or "").split(",") if s]
    rows_in, what = rows_read, "rows read (file metadata)"
    if table.name in {t.name for t in CSV_TABLES.values()}:
        try:
            manifests = [read_manifest(run.lake, s) for s in sources]
        except DamagedManifest as exc:
            manifests = []
            if not run.options.covers(Zone.raw):
                damaged.append(Check("manifest", ds.target, f"{exc.where} is damaged: {exc.problem}",
                                     Status.FAIL, "the Raw file's manifest recorded by ingest-csv"))
        if sources and manifests and all(manifests):
            rows_in, what = sum(m.rows for m in manifests if m), "Raw manifest rows"
    elif sources and all(run.lake.exists(s) for s in sources):
        try:
            rows_in = scalar(
                run.engine, "SELECT count(*) FROM read_json_objects($f, format = 'array')",
                {"f": [str(run.files.input_path(s)) for s in sources]},
            )
            what = "Raw records"
        except run.engine.errors:
            pass  # the Raw check names the damaged file
    quarantined = sum(int(m.get(META_QUARANTINED) or 0) for m in metas)
    key = table.quarantine_key(day)
    if run.lake.exists(key):
        _check, counts = readable(run.engine, Dataset(QUARANTINE, (str(run.files.input_path(key)),), day))
        quarantined = sum(counts.values()) if counts else 0
    elif quarantined:
        run.summary.notes.append(f"{ds.target}: {quarantined:,} quarantined rows recorded but "
                                 f"{run.lake.uri_of(key)} is missing")
        quarantined = 0
    return Reconciliation(rows_in, duplicates, quarantined, what)


# --- Refined ----------------------------------------------------------------------------------


def _refined(run: _Run) -> None:
    progress.activity("checking the star schema")
    trusted = _trusted_pairs(run)
    good: dict[str, Dataset] = {}
    for table in REFINED_TABLES:  # dimensions first: facts check their keys against them
        keys = [(i.key, i.size) for i in run.lake.list_objects(table.prefix()) if i.key.endswith(".parquet")]
        ds = Dataset(table, tuple(str(run.files.input_path(k)) for k, _ in keys), None,
                     run.lake.uri_of(table.prefix()))
        recon = None
        if table is DIM_FILMES and isinstance(trusted, int):  # one row per Trusted title
            recon = Reconciliation(trusted, what="distinct Trusted titles")
        result = audit(run.engine, ds, parents=good, reconciliation=recon)
        checks = list(result.checks)
        if _schema_ok(checks):
            good[table.name] = ds
            checks += value_checks(run.engine, ds.register(run.engine), ds, result.rows,
                                   run.settings.checks_severity)
        run.dataset("refined", ds.target, len(keys), result.rows, sum(s for _, s in keys))
        run.add(checks)
    if all(t.name in good for t in (DIM_FILMES, DIM_GENERO, FATO_FILME)):
        run.add([_fact_coverage(run, good, trusted)])
        enriched, titles = one(
            run.engine,
            f"SELECT count(tmdb_id), count(*) FROM {good[DIM_FILMES.name].register(run.engine)}",
        )
        run.add([tmdb_coverage(DIM_FILMES.name, int(enriched), int(titles),
                               run.settings.validate_min_tmdb_coverage)])
    latest = max((d for t in TRUSTED_TABLES for d, keys in trusted_partitions(run.lake, t).items()
                  if keys), default=None)
    run.dataset("refined", "lake", 0, None, None)
    run.add([lake_checks.freshness("lake", dt.date.fromisoformat(latest) if latest else None,
                                   run.settings.validate_max_age_days, run.options.today)])
    behind = lake_checks.refined_behind(run.lake)
    if behind:  # say why the Refined reconciliations with Trusted fail, before they are read
        run.add([lake_checks.refined_behind_check("lake", behind)])
        because = f"; Refined is older than Trusted (see '{lake_checks.REFINED_BEHIND}')"
        run.summary.checks = [
            replace(c, observed=c.observed + because)
            if c.status is Status.FAIL and (c.name, c.target) in lake_checks.CONSEQUENCES else c
            for c in run.summary.checks
        ]


def _trusted_pairs(run: _Run) -> int | str:
    """Build ``v_trusted_pairs`` (the (title, genre) pairs of the latest Trusted snapshot of
    every title) and return the number of titles; or why it could not be built."""
    try:
        inputs = register_inputs(run.engine, cast(Workspace, run.files))
        if not inputs.has_titles:
            return "no Trusted titles to compare"
        run.engine.run_script("norm")
        run.engine.run_script("validate_trusted_pairs")
    except run.engine.out_of_memory:
        raise
    except run.engine.errors as exc:
        return f"the Trusted zone could not be read: {str(exc).splitlines()[0][:160]}"
    return scalar(run.engine, "SELECT count(DISTINCT imdb_id) FROM v_trusted_pairs")


def _fact_coverage(run: _Run, good: dict[str, Dataset], trusted: int | str) -> Check:
    if isinstance(trusted, str):
        return Check("fact covers trusted", FATO_FILME.name, trusted, Status.WARN,
                     "every (title, genre) of the latest Trusted snapshot has a row")
    views = {name: ds.register(run.engine) for name, ds in good.items()}
    return fact_covers_trusted(run.engine, FATO_FILME.name, views[FATO_FILME.name],
                               views[DIM_FILMES.name], views[DIM_GENERO.name], "v_trusted_pairs")


# --- the verdict ------------------------------------------------------------------------------


def _conclude(run: _Run) -> None:
    summary = run.summary
    summary.rows = list(run.rows.values())
    failed = [c for c in summary.checks if c.status is Status.FAIL]
    failed.sort(key=lambda c: c.name != lake_checks.REFINED_BEHIND)  # the cause of others first
    warned = [c for c in summary.checks if c.status is Status.WARN]
    summary.counts = {
        "datasets": len(summary.rows),
        "checks": len(summary.checks),
        "passed": len(summary.checks) - len(failed) - len(warned),
        "warnings": len(warned),
        "failed": len(failed),
    }
    shown = failed + (warned if run.options.strict else [])
    for check in shown[:MAX_PROBLEMS]:
        summary.problems.append(check.describe())
        summary.problems.extend(f"  e.g. {sample}" for sample in check.samples)
    if len(shown) > MAX_PROBLEMS:
        summary.problems.append(f"... and {len(shown) - MAX_PROBLEMS} more; see the checks")
    if failed:
        summary.fail(ExitCode.CHECK_FAILED)
    if warned:
        if run.options.strict:
            summary.problems.append(f"{len(warned)} warning(s) fail the run under --strict")
            summary.fail(ExitCode.CHECK_FAILED)
        else:
            summary.notes.append(f"{len(warned)} warning(s); with --strict they would fail the run")
