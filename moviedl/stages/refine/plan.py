"""``refine --dry-run``: what a refine would do, without doing any of it.

:func:`refine_plan` takes the decisions :func:`moviedl.stages.refine.refine.refine` takes — which
Raw dates the Trusted stage builds (:func:`~moviedl.stages.refine.refine.dates_to_build`), which
tables are skipped because their inputs did not change since they were published
(:mod:`moviedl.stages.refine.fingerprints`; none with ``--force``) — from listings and a few small
objects (the fingerprints, the Raw CSVs' ingest manifests, the compacted state's description),
and returns them as a :class:`~moviedl.core.summary.Summary`: one row per Trusted partition and
Refined table with what it would read and where it would be published.

It writes nothing: no lock, no run record, no staging or scratch folder, no engine started.

What it cannot know without building: whether an audit would fail (then nothing of that stage
is published and a Refined stage after it does not run), whether a TMDB folder's files hold any
record, and — when the Trusted stage would publish — the Refined inputs, which that publish
changes: the Refined tables are then planned as built.
"""

from __future__ import annotations

from typing import Any

from moviedl.core.config import Settings
from moviedl.core.contract import REFINED_TABLES, Table
from moviedl.core.errors import UsageError
from moviedl.core.sources import KINDS
from moviedl.core.summary import Summary
from moviedl.stages.refine import compaction, fingerprints
from moviedl.stages.refine.refine import RefineOptions, Stage, dates_to_build
from moviedl.stages.refine.star_schema import INPUT_VIEWS
from moviedl.stages.refine.trusted import (
    CSV_TABLES,
    TMDB_TABLES,
    RawInventory,
    raw_inventory,
    trusted_partitions,
)
from moviedl.storage.lake import Lake
from moviedl.storage.manifest import DamagedManifest, read_manifest

COLUMNS = ["table", "action", "reads", "rows_in", "bytes", "publishes_to"]
BUILD = "would build"  # read, built, audited, and published if it passes (and differs)
SKIP = "unchanged"  # skipped: inputs unchanged since it was published (refine's own word)


def refine_plan(settings: Settings, lake: Lake, options: RefineOptions | None = None) -> Summary:
    """What ``refine`` with ``options`` (stage, force) would do on ``lake``, as a summary whose
    rows are the Trusted partitions and Refined tables with their ``action`` (:data:`BUILD` or
    :data:`SKIP`); it writes nothing. Raises what refine would raise before building anything
    (UsageError: no Raw data, no Raw data for ``--date``, nothing to build Refined from)."""
    options = options or RefineOptions()
    summary = Summary("refine", lake.uri, None, COLUMNS)
    lake.check()
    prints = fingerprints.Fingerprints.load(lake)
    code = fingerprints.code_fingerprint(settings, "spark" if settings.refine_engine == "spark" else "duckdb")
    plan = _Plan(lake, options, summary, prints, code)
    if options.stage in (Stage.trusted, Stage.all):
        inventory = raw_inventory(lake)
        days = dates_to_build(settings, lake, inventory)
        summary.date = days[-1] if days else None
        if len(days) > 1:
            summary.notes.append(f"Raw dates to refine: {', '.join(days)}")
        _trusted(plan, inventory, days)
    if options.stage in (Stage.refined, Stage.all):
        _refined(plan)
    actions = [row["action"] for row in summary.rows]
    summary.counts = {"tables": len(actions), "would_build": actions.count(BUILD), "unchanged": actions.count(SKIP)}
    summary.notes.append(
        "dry run: nothing was read beyond listings, manifests and fingerprints; nothing was built, "
        "audited, published or written (no lock, no run record)"
    )
    if summary.counts["would_build"]:
        summary.notes.append(
            "each table built is audited first: a failed audit publishes nothing of its stage (and "
            "no Refined stage follows a failed Trusted one); a table built to the bytes already "
            "published is left as it is"
        )
    return summary


class _Plan:
    def __init__(self, lake: Lake, options: RefineOptions, summary: Summary,
                 prints: fingerprints.Fingerprints, code: str) -> None:
        self.lake, self.options, self.summary, self.prints, self.code = lake, options, summary, prints, code
        self.built: list[Table] = []  # Trusted tables that would be built

    def decide(self, tables: list[Table], day: str | None, inputs: str) -> list[fingerprints.Entry] | None:
        """The entries of ``tables`` when refine would skip them, else None (it builds them)."""
        if not self.options.may_skip:
            return None
        same = fingerprints.unchanged(self.lake, self.prints, tables, day, inputs)
        return None if same is None else [entry for _table, entry, _info in same]

    def row(self, table: Table, day: str | None, action: str, reads: str, rows: Any, size: Any) -> None:
        self.summary.rows.append({
            "table": f"{table.name} dt={day}" if day else table.name, "action": action, "reads": reads,
            "rows_in": rows, "bytes": size, "publishes_to": self.lake.uri_of(table.data_key(day)),
        })


def _size(inventory: RawInventory, key: str) -> int | None:
    size = inventory.sizes.get(key, "").split(":", 1)[0]
    return int(size) if size.isdigit() else None


def _trusted(plan: _Plan, inventory: RawInventory, days: list[str]) -> None:
    for day in days:
        for kind in KINDS:
            key = inventory.csv.get(day, {}).get(kind.name)
            if not key:
                continue
            table = CSV_TABLES[kind.name]
            entries = plan.decide([table], day, fingerprints.csv_inputs(plan.code, key, inventory.sizes))
            if entries is not None:
                plan.row(table, day, SKIP, "nothing", entries[0].counts.get("rows_in"), None)
                continue
            try:
                manifest = read_manifest(plan.lake, key)
            except DamagedManifest as exc:
                manifest = None
                plan.summary.notes.append(exc.message)
            plan.row(table, day, BUILD, key, manifest.rows if manifest else None, _size(inventory, key))
            plan.built.append(table)
        for folder, table in TMDB_TABLES.items():
            keys = inventory.tmdb.get(day, {}).get(folder)
            if not keys:
                continue
            entries = plan.decide([table], day, fingerprints.tmdb_inputs(plan.code, keys, inventory.sizes))
            if entries is not None:
                plan.row(table, day, SKIP, "nothing", entries[0].counts.get("rows_in"), None)
                continue
            where = keys[0].rsplit("/", 1)[0] + "/"
            sizes = [_size(inventory, k) or 0 for k in keys]
            plan.row(table, day, BUILD, f"{len(keys)} JSON file(s) in {where}", None, sum(sizes))
            plan.built.append(table)


def _refined(plan: _Plan) -> None:
    tables = list(REFINED_TABLES)
    partitions = {view: trusted_partitions(plan.lake, table) for view, table in INPUT_VIEWS.items()}
    published = sum(len(parts) for parts in partitions.values())
    if plan.built:  # the Trusted stage's publish changes the Refined inputs first
        reads = f"the {published} published Trusted partition(s) and those the Trusted stage publishes"
        for table in tables:
            plan.row(table, None, BUILD, reads, None, None)
        return
    trusted = fingerprints.trusted_stamps(plan.lake)
    entries = plan.decide(tables, None, fingerprints.refined_inputs(plan.code, trusted))
    if entries is not None:
        for table, entry in zip(tables, entries, strict=True):
            plan.row(table, None, SKIP, "nothing", entry.counts.get("rows_in"), None)
        return
    if not (partitions["in_movies"] or partitions["in_series"]):
        raise UsageError(  # as refine would, once it looked
            f"the Trusted zone of {plan.lake.uri} is empty: nothing to build Refined from",
            hint="Run 'moviedl refine' (all stages) after 'moviedl ingest-csv'.",
        )
    read = compaction.plan(plan.lake, plan.code, partitions) if plan.options.may_skip else None
    through = read.from_state if read is not None else 0
    size = sum(info.size for info in fingerprints.listing(plan.lake, {t.prefix() for t in INPUT_VIEWS.values()}).values())
    reads = f"{published} Trusted partition(s), {size:,} bytes" + (
        f" ({through} of them through the compacted state)" if through else ""
    )
    for table in tables:
        plan.row(table, None, BUILD, reads, None, None)
