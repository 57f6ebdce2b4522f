"""A run's local scratch folder, and the clean-up of those that killed runs left behind.

refine, ingest-tmdb and validate work in a folder of their own under the temp folder
(``TMPDIR``): DuckDB's spill files, and for an S3 lake the downloaded inputs and the staged
outputs — hundreds of MB, several GB for a large lake. A run removes its folder when it ends,
however the command ends, but a process that is killed (``kill -9``, the OOM killer, a machine
reset) cannot: its folder would stay until the temp folder is cleared, and with each killed
nightly run the disk fills up until a run fails with "no space left on device".

So each folder holds a file, :data:`OWNER_FILE`, that its run keeps locked (``flock``) while it
lives; the kernel releases that lock however the process dies. Whenever a run makes its folder,
it first removes the folders of the same user named as moviedl names them (:data:`FOLDER`) whose
owner file it can lock: no live run holds those. The owner file is locked before it gets its
name, so a folder is never seen with an unlocked owner file while its run lives. A folder with
no owner file (left by an older moviedl, by a short task that keeps none, or made where there
are no file locks: a file system without them, Windows) is removed once it is a day old.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

try:
    import fcntl
except ImportError:  # Windows: no flock, so no owner files; only the one-day rule
    fcntl = None  # type: ignore[assignment]

PREFIX = "moviedl-"
#: The folders moviedl makes in the temp folder (``tempfile.mkdtemp`` adds 8 characters): only
#: these are ever removed, never another folder whose name happens to start with "moviedl-".
FOLDER = re.compile(r"moviedl-(refine|tmdb|validate|spark|ddl|qs|report|glue)-[a-z0-9_]{8}")
#: The file a run keeps locked in its folder while it lives.
OWNER_FILE = ".moviedl-owner"
#: Age (seconds) after which a ``moviedl-*`` folder without an owner file is removed.
ORPHAN_AGE = 24 * 3600

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reclaimed:
    """A folder a killed run left, removed: where it was and the bytes it held."""

    path: Path
    bytes: int


class ScratchDir:
    """A new folder ``<temp>/moviedl-<what>-XXXXXXXX``, locked as its run's (see the module
    docstring) and removed by :meth:`close`. Making one first removes the folders killed runs
    left (:func:`reclaim`); :attr:`reclaimed` lists them."""

    def __init__(self, what: str, root: Path | None = None) -> None:
        parent = Path(root or tempfile.gettempdir())
        self.reclaimed = reclaim(parent)
        self.path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{what}-", dir=parent))
        self._open = True
        try:
            self._fd = _own(self.path)
        except BaseException:  # a full disk, Ctrl-C: leave no folder behind
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def close(self) -> None:
        """Remove the folder, then let go of its lock (the order matters: see :func:`reclaim`)."""
        if not self._open:
            return
        self._open = False
        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _own(folder: Path) -> int | None:
    """Lock a new owner file in ``folder`` and give it its name; the open descriptor. None where
    the file system (or the system: Windows) has no ``flock``: the folder then has no owner
    file and is left to the one-day rule."""
    if fcntl is None:
        return None
    pending = folder / f"{OWNER_FILE}.new"
    fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
    except OSError as exc:  # no locks on this file system (ENOLCK, EOPNOTSUPP)
        log.debug("no lock on %s (%s): the folder is left to the one-day rule", pending, exc)
        os.close(fd)
        pending.unlink(missing_ok=True)
        return None
    try:
        os.write(fd, f"pid {os.getpid()}\n".encode())
        os.replace(pending, folder / OWNER_FILE)  # named only once locked
    except BaseException:
        os.close(fd)
        raise
    return fd


def reclaim(parent: Path | None = None) -> list[Reclaimed]:
    """Remove the :data:`FOLDER` folders of this user in ``parent`` (the temp folder) that no live
    run owns: the owner file can be locked, or there is none and the folder is a day old. Errors
    (another user's folder, a file in use) leave a folder as it is: this is housekeeping."""
    parent = Path(parent or tempfile.gettempdir())
    uid = os.getuid() if hasattr(os, "getuid") else None
    found: list[Reclaimed] = []
    try:
        entries = [e for e in os.scandir(parent) if FOLDER.fullmatch(e.name)]
    except OSError:
        return found
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False) or (uid is not None and entry.stat().st_uid != uid):
                continue
            fd = os.open(Path(entry.path) / OWNER_FILE, os.O_RDONLY)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime > ORPHAN_AGE:
                    found.append(_remove(Path(entry.path)))
            continue
        except OSError:
            continue
        try:
            if fcntl is None:  # an owner file, but no way to test its lock here: leave it
                raise BlockingIOError
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its run is alive (or no locks here: leave it)
            os.close(fd)
            continue
        try:  # removed while locked, so that no other run removes it at the same time
            found.append(_remove(Path(entry.path)))
        finally:
            os.close(fd)
    if found:
        log.info("%s: %s", reclaimed_note(found), ", ".join(str(r.path) for r in found))
    return found


def _remove(path: Path) -> Reclaimed:
    size = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(folder, name)).st_size
    shutil.rmtree(path, ignore_errors=True)
    return Reclaimed(path, size)


def reclaimed_note(found: list[Reclaimed]) -> str | None:
    """The summary note saying what :func:`reclaim` removed, or None."""
    if not found:
        return None
    total = sum(r.bytes for r in found)
    return (
        f"removed {len(found)} scratch folder(s) that killed runs left in {found[0].path.parent} "
        f"({total / 1e6:,.1f} MB); a run that is killed (kill -9, out of memory) cannot clean up"
    )
