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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import signal
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from moviedl.contract import Table
from moviedl.lake import CHUNK_SIZE, STATE_PREFIX, Lake, LocalLake

STAGING_PREFIX = f"{STATE_PREFIX}/staging"
VERSIONS_PREFIX = f"{STATE_PREFIX}/versions"
DEFAULT_KEEP_VERSIONS = 3
STALE_STAGING = dt.timedelta(hours=6)  # older staging runs were killed; a newer one may be running


def new_run_id() -> str:
    """Sortable to the microsecond (versions are pruned in this order), and ending with the
    command's run id suffix, so staging folders and archived versions lead back to the run
    record: ``20240501T120000123456Z-1a2b3c`` for run ``20240501T120000Z-1a2b3c``."""
    from moviedl.logs import run_id_var

    current = run_id_var.get()
    suffix = current.rsplit("-", 1)[-1] if current != "-" else uuid.uuid4().hex[:6]
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-{suffix}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


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

    Local lake: ``<lake>/_moviedl/staging/<run id>/`` (same file system as the data, so publishing
    is a rename). S3 lake: a local temp folder; inputs are downloaded into it.
    """

    def __init__(self, lake: Lake, run_id: str | None = None) -> None:
        self.lake = lake
        self.run_id = run_id or new_run_id()
        self._tmp = Path(tempfile.mkdtemp(prefix="moviedl-refine-"))
        if isinstance(lake, LocalLake):
            self.root = lake.path(self.staging_key(""))
        else:
            self.root = self._tmp / "staging"
        self.root.mkdir(parents=True, exist_ok=True)
        self.scratch = self._tmp / "scratch"  # DuckDB spill files
        self.scratch.mkdir()
        self._inputs = self._tmp / "inputs"

    def staging_key(self, key: str) -> str:
        return f"{STAGING_PREFIX}/{self.run_id}/{key}"

    def staged_path(self, key: str) -> Path:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def input_path(self, key: str) -> Path:
        """A local file with the content of the lake object ``key`` (read in place when local)."""
        if isinstance(self.lake, LocalLake):
            return self.lake.path(key)
        path = self._inputs / key
        if not path.exists():
            self.lake.download(key, path)
        return path

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)
        if isinstance(self.lake, LocalLake):
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            self.lake.delete_prefix(f"{STAGING_PREFIX}/{self.run_id}/")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Publisher:
    """Publishes audited :class:`Staged` outputs; see the module docstring for the protocol.

    ``crash_at`` is a test hook (``MOVIEDL_TEST_CRASH_AT``): the process kills itself with
    SIGKILL at that point — ``staged``, ``archived:<table>`` or ``switched:<table>``.
    """

    def __init__(
        self,
        lake: Lake,
        workspace: Workspace,
        keep_versions: int = DEFAULT_KEEP_VERSIONS,
        crash_at: str | None = None,
    ) -> None:
        self.lake = lake
        self.ws = workspace
        self.keep_versions = keep_versions
        self.crash_at = crash_at

    def publish_all(self, outputs: list[Staged]) -> None:
        """Publish ``outputs`` in order (dimensions before facts); sets each one's ``status``."""
        pending = []
        for out in outputs:
            sha = file_sha256(out.path)
            if self._published_sha(out.key) == sha:
                out.status = "unchanged"
            else:
                pending.append((out, sha))
        if not isinstance(self.lake, LocalLake):
            for out, _sha in pending:  # upload everything before switching anything
                self.lake.upload_file(out.path, self.ws.staging_key(out.key))
        self._hook("staged")
        for out, sha in pending:
            self._switch(out, sha)
        for out in outputs:
            self._publish_quarantine(out)
            self._remove_strays(out)
            self._prune(out)

    # -- one table ---------------------------------------------------------------------------

    def _switch(self, out: Staged, sha: str) -> None:
        old_sha = self._published_sha(out.key)
        if old_sha is not None:
            version = f"{VERSIONS_PREFIX}/{out.table.prefix(out.dt)}{self.ws.run_id}-{old_sha[:12]}.parquet"
            self.lake.copy(out.key, version)
            out.version = version
        self._hook(f"archived:{out.table.name}")
        staged_key = self.ws.staging_key(out.key)
        if isinstance(self.lake, LocalLake):
            self.lake.move(staged_key, out.key)
        else:
            self.lake.copy(staged_key, out.key)
            self.lake.delete(staged_key)
        out.status = "published"
        self._hook(f"switched:{out.table.name}")

    def _published_sha(self, key: str) -> str | None:
        if isinstance(self.lake, LocalLake):
            path = self.lake.path(key)
            return file_sha256(path) if path.is_file() else None
        return self.lake.sha256(key) if self.lake.exists(key) else None

    def _publish_quarantine(self, out: Staged) -> None:
        key = out.quarantine_key
        if key is None:
            return
        if out.quarantine_path is None:
            if self.lake.exists(key):
                self.lake.delete(key)  # the rows that were quarantined before are now fine
            return
        if self._published_sha(key) == file_sha256(out.quarantine_path):
            return
        if isinstance(self.lake, LocalLake):
            self.lake.move(self.ws.staging_key(key), key)
        else:
            self.lake.upload_file(out.quarantine_path, key)

    def _remove_strays(self, out: Staged) -> None:
        """Delete other data files in the published folder — only once ours is in place."""
        for info in list(self.lake.list(out.table.prefix(out.dt))):
            name = info.key.rsplit("/", 1)[-1]
            if info.key != out.key and not name.startswith(("_", ".")):
                self.lake.delete(info.key)
                out.notes.append(f"removed {info.key}: not part of the published version")

    def _prune(self, out: Staged) -> None:
        folder = f"{VERSIONS_PREFIX}/{out.table.prefix(out.dt)}"
        versions = sorted(
            info.key for info in self.lake.list(folder) if "/" not in info.key[len(folder) :]
        )
        for key in versions[: max(0, len(versions) - self.keep_versions)]:
            self.lake.delete(key)

    def _hook(self, point: str) -> None:
        if self.crash_at and self.crash_at == point:
            os.kill(os.getpid(), signal.SIGKILL)


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
