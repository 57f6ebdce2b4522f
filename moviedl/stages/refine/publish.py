"""Write aside, then publish atomically, keeping the last versions.

Every table (or Trusted partition) is published as ONE Parquet file with a stable name,
``<folder>/data.parquet``, so replacing it is a single atomic step and a reader of the folder sees
the previous version or the new one — never a mix, never nothing:

* **local lake**: DuckDB writes into ``_moviedl/staging/<run id>/<key>`` (same file system), the
  audit reads that file, and publishing is ``os.replace`` onto ``<key>`` (after ``fsync``). The
  previous file is first hard-linked into ``_moviedl/versions/`` (no copy, no extra space).
* **S3 lake**: DuckDB writes into a local temp folder, the audit reads it there, the file is
  uploaded to ``_moviedl/staging/<run id>/<key>`` (verified by size and SHA-256), the previous
  object is copied server-side into ``_moviedl/versions/``, and one server-side CopyObject puts
  the staged object at ``<key>`` (S3 replaces an object atomically and reads are strongly
  consistent: a reader gets the old object or the new one).

Only after the new file is in place are other files in that folder (left by another tool or an
older layout) deleted. Publishing identical bytes is skipped ("unchanged"), so re-runs create no
versions. After a successful publish, only the newest ``keep_versions`` old versions are kept.
A crash at any point leaves each published file either old or new; re-running converges.

**Foreign keys resolve at every moment** (Refined): tables are switched one after the other, so a
reader may join a new dimension with an old fact. Keys are stable (derived from the data), so
only a key that *disappears* from a dimension can break that join — an artist whose name was
corrected, a genre no title has any more, a title dropped from a re-ingested date. Publishing is
therefore expand / publish facts / contract:

1. **expand** — for each changed dimension, the keys the *published* facts reference that the new
   dimension lacks are looked up; if there are any, an *expanded* version (the new rows plus the
   old published rows with those keys, same schema, sorted by primary key) is written into the
   workspace with DuckDB and published first. A dimension from which no key disappears is simply
   published here, as before.
2. **facts** — every changed fact is published; its keys all exist in the new dimensions, which
   the expanded ones contain.
3. **contract** — each expanded dimension is published again exactly as staged.

When no key disappears there is no expand step: no extra write, no extra version. The expanded
file keeps every key and unique value unique, but some of its rows are used by no fact
("parent covered" fails) until the contract step; a crash in between leaves it so until the next
run, which converges to the staged dimensions (it recognises an already published expanded
version and does not switch it in again). The version archived for a dimension is always the one
readers had before the run, never the transient expanded one of the same run; when the published
version already holds every row the expansion would (the same bytes), it is archived at the
contract step instead.

DuckDB-only on purpose: the expand step opens its own small DuckDB connection on the staged and
published files (local, one file per table) rather than the run's
:class:`~moviedl.engines.base.Engine` — it is part of publishing one file per table, which an engine
writing several files per table (Spark) will need to replace, not reuse.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from moviedl.core.contract import ForeignKey, Table
from moviedl.core.scratch import ScratchDir
from moviedl.engines import duck
from moviedl.engines.base import ident, idents, scalar
from moviedl.engines.duck import DuckDBEngine
from moviedl.storage.files import sha256_file
from moviedl.storage.lake import STATE_PREFIX, Lake

log = logging.getLogger(__name__)

STAGING_PREFIX = f"{STATE_PREFIX}/staging"
VERSIONS_PREFIX = f"{STATE_PREFIX}/versions"
DEFAULT_KEEP_VERSIONS = 3
STALE_STAGING = dt.timedelta(hours=6)  # older staging runs were killed; a newer one may be running


def new_run_id() -> str:
    """Sortable to the microsecond (versions are pruned in this order), and ending with the
    command's run id suffix, so staging folders and archived versions lead back to the run
    record: ``20240501T120000123456Z-1a2b3c`` for run ``20240501T120000Z-1a2b3c``."""
    from moviedl.core.logs import run_id_var

    current = run_id_var.get()
    suffix = current.rsplit("-", 1)[-1] if current != "-" else uuid.uuid4().hex[:6]
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-{suffix}"


@dataclass
class Staged:
    """One output written aside, with what is known about how it was made."""

    table: Table
    dt: str | None
    path: Path  # the local Parquet file the audit reads
    sources: list[str] = field(default_factory=list)  # lake keys read
    rows_in: int = 0
    rows_in_label: str = "rows in"
    rows_written: int = 0  # rows the query produced (the audit reads the file back)
    duplicates: int | None = None
    quarantined: int | None = None
    quarantine_path: Path | None = None
    quarantine_reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: str = "staged"
    version: str | None = None  # where the replaced version was kept
    fingerprint: str | None = None  # its inputs (moviedl.stages.refine.fingerprints), recorded once published

    @property
    def key(self) -> str:
        return self.table.data_key(self.dt)

    @property
    def target(self) -> str:
        return f"{self.table.name} dt={self.dt}" if self.dt else self.table.name

    @property
    def quarantine_key(self) -> str | None:
        return (
            self.table.quarantine_key(self.dt) if self.dt and self.quarantined is not None else None
        )


class Workspace:
    """Where one run writes aside and keeps local copies of its inputs.

    Files are staged at ``<local root>/_moviedl/staging/<run id>/<key>`` (see
    :meth:`Lake.local_root`). Local lake: inside the lake (same file system as the data, so
    publishing is a rename). S3 lake: in a local temp folder, which also holds the downloaded
    inputs. That folder (a :class:`~moviedl.core.scratch.ScratchDir`, with DuckDB's spill
    files) is removed by :meth:`close`, or by a later run when this one is killed.
    """

    def __init__(self, lake: Lake, run_id: str | None = None) -> None:
        self.lake = lake
        self.run_id = run_id or new_run_id()
        self._dir = ScratchDir("refine")  # first removes those of killed runs
        self.reclaimed = self._dir.reclaimed
        self._local = self._dir.path / "lake"
        self.root = lake.local_root(self._local) / self.staging_key("")
        self.root.mkdir(parents=True, exist_ok=True)
        self.scratch = self._dir.path / "scratch"  # DuckDB spill files
        self.scratch.mkdir()

    def staging_key(self, key: str) -> str:
        return f"{STAGING_PREFIX}/{self.run_id}/{key}"

    def staged_path(self, key: str) -> Path:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def input_path(self, key: str) -> Path:
        """A local file with the content of the lake object ``key`` (read in place when local)."""
        return self.lake.local_path(key, self._local)

    def close(self) -> None:
        self._dir.close()
        self.lake.delete_prefix(self.staging_key(""))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _Expansion:
    """A changed dimension published first with the old rows the published facts still use."""

    path: Path  # the expanded file, in the workspace
    rel: str  # its key relative to the workspace root
    sha: str
    kept: int  # old rows kept
    switch: bool  # False: the lake already holds exactly this version (left by a killed run)


class Publisher:
    """Publishes audited :class:`Staged` outputs; see the module docstring for the protocol.

    Each step it completes is reported to :meth:`_at_step` — ``staged``, ``archived:<table>``,
    ``expanded:<table>`` (an expanded dimension was switched in) or ``switched:<table>`` — which
    logs it; the crash tests stop the process there.
    """

    def __init__(
        self,
        lake: Lake,
        workspace: Workspace,
        keep_versions: int = DEFAULT_KEEP_VERSIONS,
    ) -> None:
        self.lake = lake
        self.ws = workspace
        self.keep_versions = keep_versions

    def publish_all(self, outputs: list[Staged]) -> None:
        """Publish ``outputs`` (dimensions before facts; expanded dimensions around the facts
        when a key disappears); sets each one's ``status``."""
        pending = []
        published = {out.key: self._published_sha(out.key) for out in outputs}
        for out in outputs:
            sha = sha256_file(out.path)
            if published[out.key] == sha:
                out.status = "unchanged"
            else:
                pending.append((out, sha))
        pending.sort(key=lambda item: bool(item[0].table.foreign_keys))  # stable: facts last
        expansions = self._expansions(outputs, [out for out, _sha in pending], published)
        for out, _sha in pending:  # upload everything before switching anything (local: in place)
            self.lake.publish_file(out.path, self.ws.staging_key(out.key))
        for expansion in expansions.values():
            if expansion.switch:
                self.lake.publish_file(expansion.path, self.ws.staging_key(expansion.rel))
        self._at_step("staged")
        for out, sha in pending:  # 1. expand (or publish) the dimensions, 2. publish the facts
            exp = expansions.get(out.table.name)
            if exp is None:
                self._switch(out, sha)
            elif exp.switch:
                self._switch(out, exp.sha, staged=exp.rel, point="expanded")
        for out, sha in pending:  # 3. contract: the dimensions exactly as staged
            exp = expansions.get(out.table.name)
            if exp is not None:  # archived in step 1, unless the lake held the expansion already
                self._switch(out, sha, archive=not exp.switch)
        for out in outputs:
            self._publish_quarantine(out)
            self._remove_strays(out)
            self._prune(out)

    # -- one table ---------------------------------------------------------------------------

    def _switch(
        self,
        out: Staged,
        sha: str,
        *,
        staged: str | None = None,
        point: str = "switched",
        archive: bool = True,
    ) -> None:
        """Put the staged file (``out``'s, or the workspace file ``staged``) at ``out.key``,
        the published one archived first unless ``archive`` is false (a transient version)."""
        if archive:
            old_sha = self._published_sha(out.key)
            if old_sha is not None:
                version = f"{VERSIONS_PREFIX}/{out.table.prefix(out.dt)}{self.ws.run_id}-{old_sha[:12]}.parquet"
                self.lake.copy(out.key, version)
                out.version = version
            self._at_step(f"archived:{out.table.name}")
        self.lake.move(self.ws.staging_key(staged or out.key), out.key)
        if point == "switched":
            out.status = "published"
        self._at_step(f"{point}:{out.table.name}")

    def _published_sha(self, key: str) -> str | None:
        return self.lake.sha256(key) if self.lake.exists(key) else None

    # -- expand ------------------------------------------------------------------------------

    def _expansions(
        self, outputs: list[Staged], changed: list[Staged], published: dict[str, str | None]
    ) -> dict[str, _Expansion]:
        """table name -> expanded version, for each changed dimension whose new rows lack keys
        that the published facts (of the tables in ``outputs``) reference. ``published``: the
        SHA-256 of each output's published file (None: none)."""
        facts = [out for out in outputs if out.table.foreign_keys]
        found = {}
        for dim in changed:
            refs = [
                (fact.key, fk)
                for fact in facts
                for fk in fact.table.foreign_keys
                if fk.parent == dim.table.name and fk.parent_columns == dim.table.primary_key
            ]
            refs = [(key, fk) for key, fk in refs if published[key] is not None]
            if not refs or published[dim.key] is None:
                continue  # nothing published yet reads this dimension
            exp = self._expand(dim, [(self.ws.input_path(key), fk) for key, fk in refs])
            if exp is not None:
                exp.switch = published[dim.key] != exp.sha
                found[dim.table.name] = exp
                dim.notes.append(
                    f"{dim.table.name}: {exp.kept:,} row(s) no longer built but used by the "
                    "published facts were kept until the new facts were in place"
                )
        return found

    def _expand(self, dim: Staged, refs: list[tuple[Path, ForeignKey]]) -> _Expansion | None:
        """Write the new rows of ``dim`` plus the published rows whose keys the facts ``refs``
        (local files) reference but the new rows lack; None when no such row exists."""
        table = dim.table
        key = idents(table.primary_key)
        files = {"new_rows": dim.path, "old_rows": self.ws.input_path(dim.key)}
        files |= {f"fact{i}": path for i, (path, _fk) in enumerate(refs)}
        used = " UNION ".join(
            f"SELECT {_renamed(fk)} FROM fact{i}" for i, (_p, fk) in enumerate(refs)
        )
        # An old row is kept only when its unique values (imdb_id, genre) are not taken by a new
        # row: keys derive from them, so this drops no row of a lake moviedl wrote.
        kept_rows = f"SELECT o.* FROM old_rows AS o SEMI JOIN missing USING ({key})" + "".join(
            f" ANTI JOIN new_rows USING ({idents(u)})" for u in table.unique
        )
        typed = ", ".join(
            f"CAST({ident(c.name)} AS {c.type}) AS {ident(c.name)}" for c in table.columns
        )
        rel = f"expanded/{dim.key}"
        path = self.ws.staged_path(rel)
        engine = DuckDBEngine(duck.connect(None, self.ws.scratch))
        try:
            for view, file in files.items():
                engine.register_parquet(view, [str(file)])
            engine.execute(
                f"CREATE TEMP TABLE missing AS SELECT * FROM ({used}) "
                f"EXCEPT SELECT {key} FROM new_rows"
            )
            kept = scalar(engine, f"SELECT count(*) FROM ({kept_rows})")
            if not kept:
                return None
            engine.write_parquet(
                f"SELECT {typed} FROM (SELECT * FROM new_rows UNION ALL BY NAME {kept_rows}) "
                f"ORDER BY {key}",
                path,
            )
        except engine.out_of_memory:
            raise
        except engine.errors as exc:  # a damaged published file: readers cannot join it anyway
            dim.notes.append(
                f"{table.name}: the published version could not be expanded, so a reader may "
                f"briefly miss keys of the old facts: {str(exc).splitlines()[0]}"
            )
            return None
        finally:
            engine.close()
        return _Expansion(path, rel, sha256_file(path), kept, switch=True)

    # -- after the switch --------------------------------------------------------------------

    def _publish_quarantine(self, out: Staged) -> None:
        key = out.quarantine_key
        if key is None:
            return
        if out.quarantine_path is None:
            if self.lake.exists(key):
                self.lake.delete(key)  # the rows that were quarantined before are now fine
            return
        if self._published_sha(key) == sha256_file(out.quarantine_path):
            return
        self.lake.publish_file(out.quarantine_path, key)

    def _remove_strays(self, out: Staged) -> None:
        """Delete other data files in the published folder — only once ours is in place."""
        for info in list(self.lake.list_objects(out.table.prefix(out.dt))):
            name = info.key.rsplit("/", 1)[-1]
            if info.key != out.key and not name.startswith(("_", ".")):
                self.lake.delete(info.key)
                out.notes.append(f"removed {info.key}: not part of the published version")

    def _prune(self, out: Staged) -> None:
        folder = f"{VERSIONS_PREFIX}/{out.table.prefix(out.dt)}"
        versions = sorted(
            info.key for info in self.lake.list_objects(folder) if "/" not in info.key[len(folder) :]
        )
        for key in versions[: max(0, len(versions) - self.keep_versions)]:
            self.lake.delete(key)

    def _at_step(self, point: str) -> None:
        log.debug("publish step %s", point)


def _renamed(fk: ForeignKey) -> str:
    """The foreign key's columns named like the parent's: ``"artist_id" AS "artist_id"``."""
    pairs = zip(fk.columns, fk.parent_columns, strict=True)
    return ", ".join(f"{ident(c)} AS {ident(p)}" for c, p in pairs)


def clean_stale_staging(
    lake: Lake, current_run: str, older_than: dt.timedelta = STALE_STAGING
) -> int:
    """Delete staging folders of runs that started more than ``older_than`` ago (killed runs)."""
    cutoff = dt.datetime.now(dt.UTC) - older_than
    removed = 0
    for run in lake.folders(f"{STAGING_PREFIX}/"):
        if run == current_run:
            continue
        try:
            started = dt.datetime.strptime(run.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ").replace(
                tzinfo=dt.UTC
            )
        except ValueError:
            continue
        if started < cutoff:
            lake.delete_prefix(f"{STAGING_PREFIX}/{run}/")
            removed += 1
    return removed
