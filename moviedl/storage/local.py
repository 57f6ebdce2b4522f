"""A lake in a local folder: files written atomically, listed from the disk."""


from __future__ import annotations

import contextlib
import errno
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from moviedl.core.errors import MoviedlError
from moviedl.storage.files import sha256_stream

if TYPE_CHECKING:

    pass

from moviedl.storage.lake import TMP_PREFIX, Lake, ObjectInfo, RangeFile, Upload, local_errors

#: errors of ``copy_file_range`` that mean "not here" (another file system, a device, an old
#: kernel), not "failed": the bytes are then written from Python
_NO_KERNEL_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF, errno.ETXTBSY}
_KERNEL_COPY_STEP = 64 << 20


class LocalUpload(Upload):
    def __init__(self, lake: LocalLake, key: str) -> None:
        super().__init__(lake, key)
        self._tmp = lake.root / TMP_PREFIX / f"{uuid.uuid4().hex}.part"
        self._tmp.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] | None = open(self._tmp, "wb")  # noqa: SIM115
        self._copy: _KernelCopy | None = None

    def copy_from(self, source: Path) -> None:
        """The kernel copies ``source`` (``copy_file_range``, on a thread of its own) while the
        caller reads it to check and hash: the bytes never pass through Python. The same thread
        then syncs the copy and reads it back for the verification, still beside the checks.
        Where the kernel cannot copy, :meth:`_write` writes the bytes as usual."""
        assert self._file is not None and self._copy is None and not self.size
        with local_errors("write to the lake folder", self._tmp):
            self._copy = _KernelCopy.start(source, self._file.fileno(), self._tmp)

    def _write(self, data: bytes) -> None:
        if self._copy is not None:
            return
        assert self._file is not None
        with local_errors("write to the lake folder", self._tmp):
            self._file.write(data)

    def _commit(self) -> None:
        with local_errors("write to the lake folder", self.lake.root / self.key):  # type: ignore[attr-defined]
            self._publish()

    def _publish(self) -> None:
        assert self._file is not None
        if self._copy is not None:  # synced and read back already, on the copy's thread
            size, sha256 = self._copy.finish()
        else:
            self._file.flush()
            os.fsync(self._file.fileno())
            with open(self._tmp, "rb") as stored:
                sha256 = sha256_stream(stored)
            size = self._tmp.stat().st_size
        self._file.close()
        self._file = None
        self._check_stored(size, sha256, str(self._tmp))
        target = self.lake.root / self.key  # type: ignore[attr-defined]
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, target)

    def abort(self) -> None:
        """Drop the half-written file. Closing it flushes what is buffered, which fails again on a
        full disk: that second error must not hide the first, which the caller is raising."""
        if self._copy is not None:
            self._copy.stop()
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)


class _KernelCopy:
    """``copy_file_range`` of a whole file into ``target`` (an open descriptor of the file at
    ``stored``), on a thread that then syncs ``target`` and reads ``stored`` back: its size and
    SHA-256 are what :meth:`finish` returns, for the caller to compare with what it checked."""

    def __init__(self, source: int, target: int, stored: Path) -> None:
        self._source, self._target, self._stored = source, target, stored
        self._halt = threading.Event()
        self._error: OSError | None = None
        self._read_back: tuple[int, str] = (0, "")
        self._thread = threading.Thread(target=self._run, name="moviedl-kernel-copy", daemon=True)

    @classmethod
    def start(cls, path: Path, target: int, stored: Path) -> _KernelCopy | None:
        """A copy under way, or None when this kernel or file system cannot copy ``path`` so
        (tried on its first bytes, here: nothing is copied then)."""
        if not hasattr(os, "copy_file_range"):  # Linux only (macOS and Windows have none)
            return None
        source = os.open(path, os.O_RDONLY)
        try:
            os.copy_file_range(source, target, _KERNEL_COPY_STEP)
        except OSError as exc:
            os.close(source)
            if exc.errno in _NO_KERNEL_COPY:
                return None
            raise
        copy = cls(source, target, stored)
        copy._thread.start()
        return copy

    def _run(self) -> None:
        try:
            while not self._halt.is_set() and os.copy_file_range(self._source, self._target, _KERNEL_COPY_STEP):
                pass
            if not self._halt.is_set():
                os.fsync(self._target)
                with open(self._stored, "rb") as stored:  # stops early when stop() asks
                    self._read_back = (os.fstat(stored.fileno()).st_size,
                                       sha256_stream(stored, stop=self._halt.is_set))
        except OSError as exc:
            self._error = exc
        finally:
            os.close(self._source)

    def finish(self) -> tuple[int, str]:
        """Wait for the copy, its sync and its read-back: (size, SHA-256) of the stored bytes.
        An error of any of them (a full disk...) is raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._read_back

    def stop(self) -> None:
        self._halt.set()
        self._thread.join()


class LocalLake(Lake):
    def __init__(self, root: str | Path) -> None:
        self.uri = str(root)
        self.root = Path(root).expanduser().absolute()

    def uri_of(self, key: str) -> str:
        return str(self.root / key)

    @property
    def location(self) -> str:
        return str(self.root)

    def exists_as_lake(self) -> bool:
        return self.root.is_dir()


    def local_root(self, workdir: Path) -> Path:
        return self.root

    def local_path(self, key: str, workdir: Path) -> Path:
        return self.path(key)

    def ranged_source(self, key: str, size: int) -> str | RangeFile:
        return str(self.path(key))

    def publish_file(self, path: Path, key: str) -> None:
        try:
            source = path.relative_to(self.root).as_posix()
        except ValueError:  # not in the lake: copy it in
            super().publish_file(path, key)
            return
        if source != key:
            self.move(source, key)

    def check(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise MoviedlError(f"lake {self.root} exists but is not a folder")

    def size(self, key: str) -> int | None:
        try:
            return (self.root / key).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None

    def open_read(self, key: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        return open(self.root / key, "rb")

    def begin_upload(self, key: str) -> Upload:
        with local_errors("write to the lake folder", self.root):
            return LocalUpload(self, key)

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        folder = self.root / prefix if prefix.endswith("/") or not prefix else (self.root / prefix).parent
        if not folder.is_dir():
            return
        found = []
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    st = path.stat()
                    found.append(ObjectInfo(key, st.st_size, f"{st.st_mtime_ns}-{st.st_size}"))
        yield from sorted(found, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def clean_tmp(self, older_than_seconds: float = 6 * 3600) -> int:
        """``_moviedl/tmp/*.part`` files older than the threshold belong to dead processes
        (a live upload touches its file while it writes); removing them frees the disk."""
        import time

        folder = self.root / TMP_PREFIX
        if not folder.is_dir():
            return 0
        removed = 0
        cutoff = time.time() - older_than_seconds
        for part in folder.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
        return removed

    def path(self, key: str) -> Path:
        """The local file of ``key`` (DuckDB reads local lakes in place)."""
        return self.root / key

    def copy(self, source: str, dest: str) -> None:
        """A hard link when possible: lake files are never changed in place (every write
        replaces the file), so a link is as good as a copy and costs no space or time."""
        self.guard()
        target = self.root / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        part = self.root / TMP_PREFIX / f"{uuid.uuid4().hex}.part"
        part.parent.mkdir(parents=True, exist_ok=True)
        try:
            try:
                os.link(self.root / source, part)
            except OSError:
                shutil.copyfile(self.root / source, part)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)

    def move(self, source: str, dest: str) -> None:
        """Rename ``source`` to ``dest`` in one atomic step (``os.replace``; same file system),
        durably: the file's data is flushed to disk before it becomes visible."""
        self.guard()
        target = self.root / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(self.root / source, "rb") as staged:
            os.fsync(staged.fileno())
        os.replace(self.root / source, target)
        with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
            folder = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)

    def delete_prefix(self, prefix: str) -> int:
        count = super().delete_prefix(prefix)
        shutil.rmtree(self.root / prefix, ignore_errors=True)
        return count

    def folders(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        if not prefix.endswith("/") or not folder.is_dir():
            return []
        return sorted(entry.name for entry in folder.iterdir() if entry.is_dir())


# --- S3 -------------------------------------------------------------------------------------
