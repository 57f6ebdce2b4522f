"""Lake storage: one small interface, two backends (a local folder, or S3 / S3-compatible).

Keys are ``/``-separated paths relative to the lake root, e.g.
``Raw/Local/CSV/Movies/2024/05/01/movies.csv``. Writes go through :meth:`Lake.begin_upload`,
which stages the bytes where no reader looks and makes them visible in one step on
:meth:`Upload.commit` (local: temp file + ``os.replace`` on the same file system; S3: one PUT
or a completed multipart upload). A reader never sees a half-written object.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from moviedl.core.errors import DiskFullError, MoviedlError, ServiceError
from moviedl.storage.files import CHUNK_SIZE, atomic_file, sha256_stream

if TYPE_CHECKING:

    pass

STATE_PREFIX = "_moviedl"
TMP_PREFIX = f"{STATE_PREFIX}/tmp"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    #: changes whenever the object is replaced: the ETag on S3, modification time and size locally
    stamp: str = ""


class Upload(ABC):
    """A staged write. ``write`` chunks, then ``commit`` (verify + publish) or ``abort``."""

    def __init__(self, lake: Lake, key: str) -> None:
        self.lake = lake
        self.key = key
        self.size = 0
        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)
        self._write(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def copy_from(self, source: Path) -> None:
        """Let the storage copy the file ``source`` itself where it can; ``write`` then only
        counts and hashes the bytes it is given (those the caller checked), and ``commit``
        verifies the stored copy against them as always. Where it cannot (here), ``write``
        stores the bytes: the caller hands every chunk to ``write`` either way."""
        return  # a default, not an abstract method: S3 and the dry run store what write gets

    def commit(self) -> None:
        """Publish the object, verified: its stored size and SHA-256 equal what was written."""
        self.lake.guard()
        self._commit()

    @abstractmethod
    def _write(self, data: bytes) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def abort(self) -> None: ...

    def _check_stored(self, size: int, sha256: str, where: str) -> None:
        if size != self.size or sha256 != self.sha256:
            raise ServiceError(
                f"verification failed for {where}: wrote {self.size} bytes sha256 "
                f"{self.sha256[:12]}, stored {size} bytes sha256 {sha256[:12]}; nothing was "
                "published, run the command again"
            )


class Lake(ABC):
    """A lake root. ``uri`` is what the user configured (a folder or ``s3://bucket/prefix``)."""

    uri: str
    #: Called before anything becomes visible; the session sets it to the lock's check so a
    #: run that lost its lock stops publishing.
    write_guard: Callable[[], None] | None = None

    def guard(self) -> None:
        if self.write_guard is not None:
            self.write_guard()

    @staticmethod
    def key(*parts: str) -> str:
        return "/".join(p.strip("/") for p in parts if p)

    @abstractmethod
    def uri_of(self, key: str) -> str: ...

    @abstractmethod
    def check(self) -> None:
        """Fail early with a clear :class:`ServiceError` if the lake cannot be reached."""

    @abstractmethod
    def size(self, key: str) -> int | None:
        """The object's size, or ``None`` when it does not exist."""

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    @abstractmethod
    def open_read(self, key: str) -> contextlib.AbstractContextManager[IO[bytes]]: ...

    def read_bytes(self, key: str) -> bytes:
        with self.open_read(key) as stream:
            return stream.read()

    def sha256(self, key: str) -> str:
        with self.open_read(key) as stream:
            return sha256_stream(stream)

    @abstractmethod
    def begin_upload(self, key: str) -> Upload: ...

    def write_bytes(self, key: str, data: bytes) -> None:
        self._upload(key, lambda upload: upload.write(data))

    def _upload(self, key: str, fill: Callable[[Upload], None]) -> Upload:
        """Publish at ``key`` what ``fill`` writes into a staged upload, verified; on any failure
        (or an interrupt) the staged data is dropped and the failure goes on."""
        upload = self.begin_upload(key)
        try:
            fill(upload)
            upload.commit()
        except BaseException:
            upload.abort()
            raise
        return upload

    @abstractmethod
    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order, never capped."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    # --- whole files and folders (used by refine) ---------------------------------------------

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive) of the object, e.g. a Parquet footer."""
        with self.open_read(key) as stream:
            stream.seek(start)
            return stream.read(end - start)

    def open_ranges(self, key: str, size: int) -> RangeFile:
        """A seekable read-only file over the object that fetches only the ranges read."""
        return RangeFile(self, key, size)

    def clean_tmp(self, older_than_seconds: float = 6 * 3600) -> int:
        """Remove staged writes left behind by killed processes; returns how many."""
        return 0

    def download(self, key: str, dest: Path) -> None:
        """Copy the object ``key`` into the local file ``dest`` (which appears complete or not at all)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self.open_read(key) as source, atomic_file(dest) as out:
            shutil.copyfileobj(source, out, CHUNK_SIZE)

    def upload_file(self, path: Path, key: str) -> str:
        """Publish the local file ``path`` at ``key``, verified (see :class:`Upload`); its SHA-256."""
        with open(path, "rb") as source:
            return self._upload(key, lambda upload: _pour(source, upload)).sha256

    def copy(self, source: str, dest: str) -> None:
        """Make ``dest`` a copy of ``source``; ``dest`` appears in one step."""
        with self.open_read(source) as stream:
            self._upload(dest, lambda upload: _pour(stream, upload))

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix`` (a folder: ends with ``/``); how many were deleted."""
        if not prefix.endswith("/"):
            raise ValueError("delete_prefix takes a folder prefix ending with '/'")
        keys = [info.key for info in self.list_objects(prefix)]
        for key in keys:
            self.delete(key)
        return len(keys)

    def folders(self, prefix: str) -> list[str]:
        """The names of the immediate sub-folders of the folder ``prefix`` (ends with ``/``)."""
        names = {info.key[len(prefix):].split("/", 1)[0] for info in self.list_objects(prefix)
                 if "/" in info.key[len(prefix):]}
        return sorted(names)

    def move(self, source: str, dest: str) -> None:
        """Make ``dest`` what ``source`` was and remove ``source``; ``dest`` appears in one step
        (here a copy, then a delete; a local lake renames)."""
        self.copy(source, dest)
        self.delete(source)

    # --- the lake as a whole --------------------------------------------------------------------

    @property
    def location(self) -> str:
        """Where the lake is, as messages name it: its URI (a local lake: its absolute folder)."""
        return self.uri

    def exists_as_lake(self) -> bool:
        """Whether there is a lake here at all: a local folder that exists, or an S3 prefix that
        holds at least one object."""
        objects = self.list_objects()
        try:
            return next(objects, None) is not None
        finally:
            objects.close()  # type: ignore[attr-defined]


    # --- local files, for the tools that read and write files (DuckDB, pyarrow) -----------------

    def local_root(self, workdir: Path) -> Path:
        """The local folder whose ``<key>`` files are the lake's: the lake's own folder for a
        local lake; otherwise ``workdir`` (private and temporary), where :meth:`local_path` puts
        copies and where files to be published can be staged."""
        return workdir

    def local_path(self, key: str, workdir: Path) -> Path:
        """A local file with the content of ``key``: on a local lake the file itself, read in
        place; otherwise a copy downloaded once to ``local_root(workdir) / key`` (later calls
        reuse it: lake objects are replaced, never changed in place)."""
        path = self.local_root(workdir) / key
        if not path.exists():
            self.download(key, path)
        return path

    def ranged_source(self, key: str, size: int) -> str | RangeFile:
        """What pyarrow can open to read parts of ``key`` of ``size`` bytes (a Parquet footer)
        without fetching the rest: a local file's path, or a :class:`RangeFile`."""
        return self.open_ranges(key, size)

    def publish_file(self, path: Path, key: str) -> None:
        """Make the local file ``path`` the object ``key``, in one step. A file inside a local
        lake (staged under :meth:`local_root`) is renamed into place — no copy, and it leaves
        ``path`` — or left alone when it already is ``key``; any other file is uploaded,
        verified (:meth:`upload_file`)."""
        self.upload_file(path, key)


def _pour(stream: IO[bytes], upload: Upload) -> None:
    while chunk := stream.read(CHUNK_SIZE):
        upload.write(chunk)


@contextlib.contextmanager
def local_errors(action: str, path: Path) -> Iterator[None]:
    """An OS error on the lake folder (no space, no permission, not a folder) as one message."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # the machine, not the input: exit 3
            raise DiskFullError(str(path)) from exc
        if exc.errno == errno.EIO:  # the disk (or the file system under it) failed: exit 3 too
            raise ServiceError(
                f"cannot {action} {path}: input/output error (the disk or the file system under it failed)",
                hint="Check the disk under that path (the kernel log: dmesg) and run the command again; "
                "nothing half-written was published.",
            ) from None
        raise MoviedlError(
            f"cannot {action} {path}: {exc.strerror or exc}",
            hint="Check the lake path (--lake / MOVIEDL_LAKE), its permissions and free disk space.",
        ) from None


# --- local folder ---------------------------------------------------------------------------


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a lake object that fetches only the byte ranges asked for
    (pyarrow reads a Parquet footer through it with two or three small requests)."""

    def __init__(self, lake: Lake, key: str, size: int) -> None:
        super().__init__()
        self._lake, self._key, self._size, self._pos = lake, key, size, 0
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        end = min(self._pos + len(buffer), self._size)
        if end <= self._pos:
            return 0
        data = self._lake.read_range(self._key, self._pos, end)
        self.requests += 1
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)
