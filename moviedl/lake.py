"""Lake storage: one small interface, two backends (a local folder, or S3 / S3-compatible).

Keys are ``/``-separated paths relative to the lake root, e.g.
``Raw/Local/CSV/Movies/2024/05/01/movies.csv``. Writes go through :meth:`Lake.begin_upload`,
which stages the bytes where no reader looks and makes them visible in one step on
:meth:`Upload.commit` (local: temp file + ``os.replace`` on the same file system; S3: one PUT
or a completed multipart upload). A reader never sees a half-written object.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from moviedl.aws import NOT_FOUND, Timeouts, aws_errors, aws_session, error_code, s3_refusal
from moviedl.errors import MoviedlError, ServiceError
from moviedl.files import CHUNK_SIZE, atomic_file, b64_sha256, sha256_stream

if TYPE_CHECKING:
    import datetime as dt

    from moviedl.config import Settings
    from moviedl.lock import LakeLock, LockOwner

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
        upload = self.begin_upload(key)
        try:
            upload.write(data)
            upload.commit()
        except BaseException:
            upload.abort()
            raise

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
        upload = self.begin_upload(key)
        try:
            with open(path, "rb") as source:
                while chunk := source.read(CHUNK_SIZE):
                    upload.write(chunk)
            upload.commit()
        except BaseException:
            upload.abort()
            raise
        return upload.sha256

    def copy(self, source: str, dest: str) -> None:
        """Make ``dest`` a copy of ``source``; ``dest`` appears in one step."""
        upload = self.begin_upload(dest)
        try:
            with self.open_read(source) as stream:
                while chunk := stream.read(CHUNK_SIZE):
                    upload.write(chunk)
            upload.commit()
        except BaseException:
            upload.abort()
            raise

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

    @abstractmethod
    def lock(self, owner: LockOwner, ttl: dt.timedelta | None = None) -> LakeLock:
        """The lock that lets one run at a time write this lake, not yet acquired (see
        :mod:`moviedl.lock`). ``ttl``: how long an S3 lock lives without being renewed."""

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


@contextlib.contextmanager
def local_errors(action: str, path: Path) -> Iterator[None]:
    """An OS error on the lake folder (no space, no permission, not a folder) as one message."""
    try:
        yield
    except OSError as exc:
        raise MoviedlError(
            f"cannot {action} {path}: {exc.strerror or exc}",
            hint="Check the lake path (--lake / MOVIEDL_LAKE), its permissions and free disk space.",
        ) from None


# --- local folder ---------------------------------------------------------------------------


class LocalUpload(Upload):
    def __init__(self, lake: LocalLake, key: str) -> None:
        super().__init__(lake, key)
        self._tmp = lake.root / TMP_PREFIX / f"{uuid.uuid4().hex}.part"
        self._tmp.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] | None = open(self._tmp, "wb")  # noqa: SIM115

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        with local_errors("write to the lake folder", self._tmp):
            self._file.write(data)

    def _commit(self) -> None:
        with local_errors("write to the lake folder", self.lake.root / self.key):  # type: ignore[attr-defined]
            self._publish()

    def _publish(self) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        with open(self._tmp, "rb") as stored:
            sha256 = sha256_stream(stored)
        self._check_stored(self._tmp.stat().st_size, sha256, str(self._tmp))
        target = self.lake.root / self.key  # type: ignore[attr-defined]
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, target)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)


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

    def lock(self, owner: LockOwner, ttl: dt.timedelta | None = None) -> LakeLock:
        """An OS file lock (``flock``): the kernel releases it when the process dies (no ttl)."""
        from moviedl.lock import LocalLock

        return LocalLock(self, owner)

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


class S3Upload(Upload):
    """Buffers up to the multipart threshold; above it streams parts of ``part_size`` bytes."""

    def __init__(self, lake: S3Lake, key: str) -> None:
        super().__init__(lake, key)
        self._s3 = lake
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, object]] = []

    def _write(self, data: bytes) -> None:
        self._buffer += data
        if self._upload_id is None and len(self._buffer) > self._s3.multipart_threshold:
            with self._s3.errors("start multipart upload of", self.key):
                answer = self._s3.client.create_multipart_upload(
                    Bucket=self._s3.bucket, Key=self._s3.full_key(self.key), ChecksumAlgorithm="SHA256",
                    **self._s3.sse_args,
                )
            self._upload_id = answer["UploadId"]
        if self._upload_id is not None:
            while len(self._buffer) >= self._s3.part_size:
                self._send_part(bytes(self._buffer[: self._s3.part_size]))
                del self._buffer[: self._s3.part_size]

    def _send_part(self, body: bytes) -> None:
        number = len(self._parts) + 1
        checksum = b64_sha256(body)  # S3 refuses the part if the bytes it got differ
        with self._s3.errors("upload a part of", self.key):
            answer = self._s3.client.upload_part(
                Bucket=self._s3.bucket,
                Key=self._s3.full_key(self.key),
                UploadId=self._upload_id,
                PartNumber=number,
                Body=body,
                ChecksumSHA256=checksum,
            )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum})

    def _commit(self) -> None:
        s3 = self._s3
        if self._upload_id is None:
            with s3.errors("write", self.key):
                body = bytes(self._buffer)
                s3.client.put_object(
                    Bucket=s3.bucket, Key=s3.full_key(self.key), Body=body,
                    ChecksumSHA256=b64_sha256(body), **s3.sse_args,
                )
        else:
            if self._buffer:
                self._send_part(bytes(self._buffer))
            with s3.errors("complete multipart upload of", self.key):
                s3.client.complete_multipart_upload(
                    Bucket=s3.bucket,
                    Key=s3.full_key(self.key),
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
            self._upload_id = None
        self._buffer = bytearray()
        # S3 already refused any part whose SHA-256 differed; reading back checks the whole
        # object. Never delete on failure here: with --overwrite the previous content is gone,
        # and a read-back that failed on the network says nothing about the stored bytes.
        try:
            self._check_stored(s3.size(self.key) or 0, s3.sha256(self.key), s3.uri_of(self.key))
        except ServiceError as exc:
            raise ServiceError(
                f"{s3.uri_of(self.key)} was written but could not be verified: {exc.message}",
                hint="Run the same command again: it re-checks the stored object.",
            ) from None

    def abort(self) -> None:
        self._buffer = bytearray()
        if self._upload_id is not None:
            with contextlib.suppress(Exception):
                self._s3.client.abort_multipart_upload(
                    Bucket=self._s3.bucket, Key=self._s3.full_key(self.key), UploadId=self._upload_id
                )
            self._upload_id = None

    @property
    def multipart(self) -> bool:
        return bool(self._parts) or self._upload_id is not None


class S3Lake(Lake):
    def __init__(self, uri: str, settings: Settings | None = None, *, page_size: int = 1000) -> None:
        from botocore.config import Config

        self.uri = uri
        rest = uri[len("s3://") :]
        self.bucket, _, prefix = rest.partition("/")
        self.prefix = prefix.strip("/")
        self.page_size = page_size
        endpoint = settings.s3_endpoint_url if settings else None
        session = aws_session(settings)
        # Bounded: a frozen endpoint fails after max_attempts x (connect + read) plus at most
        # (max_attempts - 1) x 20 s of backoff, not after minutes of silence.
        self.connect_timeout = settings.s3_connect_timeout_seconds if settings else 5.0
        self.read_timeout = settings.s3_read_timeout_seconds if settings else 20.0
        self.max_attempts = settings.s3_max_attempts if settings else 3  # AWS_MAX_ATTEMPTS feeds it
        self.timeouts = Timeouts(
            self.connect_timeout, self.read_timeout, self.max_attempts,
            hint="Check the network and the endpoint (AWS_ENDPOINT_URL / s3.endpoint_url). If S3 is "
            "only slow, raise s3.read_timeout_seconds, s3.connect_timeout_seconds or s3.max_attempts "
            "(AWS_MAX_ATTEMPTS) in moviedl.toml.",
        )
        self.client = session.client(
            "s3",
            endpoint_url=endpoint,
            config=Config(
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            ),
        )
        self.endpoint = endpoint or self.client.meta.endpoint_url or "AWS"
        sse = settings.s3_sse if settings else "AES256"
        self.sse_args: dict[str, str] = {}
        if sse == "AES256":
            self.sse_args = {"ServerSideEncryption": "AES256"}
        elif sse == "aws:kms":
            assert settings and settings.s3_kms_key_id
            self.sse_args = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": settings.s3_kms_key_id}
        self.multipart_threshold = (settings.s3_multipart_threshold_mb if settings else 64) << 20
        self.part_size = (settings.s3_part_size_mb if settings else 16) << 20

    def full_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri_of(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.full_key(key)}"

    def lock(self, owner: LockOwner, ttl: dt.timedelta | None = None) -> LakeLock:
        """A lock object written with conditional PUTs and kept alive by a heartbeat."""
        from moviedl.lock import DEFAULT_TTL, S3Lock

        return S3Lock(self, owner, ttl or DEFAULT_TTL)

    @contextlib.contextmanager
    def errors(self, action: str, key: str | None = None) -> Iterator[None]:
        """Turn botocore failures into one clear :class:`ServiceError` (see :mod:`moviedl.aws`)."""
        where = self.uri_of(key) if key is not None else f"s3://{self.bucket}"
        what = f"{action} {where}"
        with aws_errors("S3", what, endpoint=self.endpoint, timeouts=self.timeouts,
                        refusal=s3_refusal(self.bucket, self.endpoint, what, bucket_level=key is None)):
            yield

    def check(self) -> None:
        with self.errors("reach the bucket"):
            self.client.head_bucket(Bucket=self.bucket)

    def size(self, key: str) -> int | None:
        with self.errors("read", key):
            try:
                answer = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
            except Exception as exc:
                if error_code(exc) in NOT_FOUND:
                    return None
                raise
        return int(answer["ContentLength"])

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        with self.errors("read", key):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))
        body = answer["Body"]
        try:
            with self.errors("read", key):
                yield body
        finally:
            body.close()

    def begin_upload(self, key: str) -> Upload:
        return S3Upload(self, key)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        with self.errors("read", key):
            answer = self.client.get_object(
                Bucket=self.bucket, Key=self.full_key(key), Range=f"bytes={start}-{end - 1}"
            )
            return answer["Body"].read()

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        full = self.full_key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(f"{self.prefix}/") if self.prefix else 0
        with self.errors("list", prefix or ""):
            pages = paginator.paginate(
                Bucket=self.bucket, Prefix=full, PaginationConfig={"PageSize": self.page_size}
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield ObjectInfo(item["Key"][strip:], int(item["Size"]), str(item.get("ETag", "")))

    def delete(self, key: str) -> None:
        with self.errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))

    def copy(self, source: str, dest: str) -> None:
        """A server-side copy: no bytes travel through this machine; ``dest`` appears in one step
        (one CopyObject, or a completed multipart copy above 4 GiB)."""
        from boto3.s3.transfer import TransferConfig

        self.guard()
        with self.errors(f"copy {self.uri_of(source)} to", dest):
            self.client.copy(
                {"Bucket": self.bucket, "Key": self.full_key(source)},
                self.bucket,
                self.full_key(dest),
                ExtraArgs=dict(self.sse_args),
                Config=TransferConfig(multipart_threshold=4 << 30, multipart_chunksize=512 << 20),
            )

    def folders(self, prefix: str) -> list[str]:
        if not prefix.endswith("/"):
            return []
        paginator = self.client.get_paginator("list_objects_v2")
        full = self.full_key(prefix)
        names: list[str] = []
        with self.errors("list", prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full, Delimiter="/",
                                           PaginationConfig={"PageSize": self.page_size}):
                names += [p["Prefix"][len(full):].rstrip("/") for p in page.get("CommonPrefixes", [])]
        return sorted(names)


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


def open_lake(settings: Settings) -> Lake:
    """The lake named by ``settings.lake``."""
    if settings.lake.startswith("s3://"):
        return S3Lake(settings.lake, settings)
    return LocalLake(settings.lake)
