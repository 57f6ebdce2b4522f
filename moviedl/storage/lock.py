"""One run at a time per lake.

Local lakes use an OS file lock (``flock``) on ``_moviedl/lock``: the kernel releases it when
the process dies, however it dies. S3 lakes use a lock object ``_moviedl/lock.json`` created
with a conditional write (``If-None-Match: *``), so two runs can never both create it. It names
its owner and an expiry that a heartbeat thread pushes forward while the run lives; a lock
whose expiry has passed belongs to a run that died, and the next run takes it over with a
conditional overwrite (``If-Match`` on the stale lock's ETag), so only one contender can win.
A lock whose owner ran on *this* host under a pid that no longer exists (a run killed with
``kill -9``, a reboot) is taken over the same way at once, without waiting for its expiry.
A lock object whose content is not a lock record (not JSON, or JSON of another shape: see
:meth:`LockOwner.parse`) names no owner that could still be alive: it is taken over at once too,
with a warning naming the object and what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, replace
from typing import Any

from moviedl.core.errors import ServiceError, UsageError
from moviedl.storage.aws import NOT_FOUND, PRECONDITION_FAILED, error_code
from moviedl.storage.lake import STATE_PREFIX, Lake, local_errors
from moviedl.storage.local import LocalLake
from moviedl.storage.s3 import S3Lake

LOCAL_LOCK_KEY = f"{STATE_PREFIX}/lock"
S3_LOCK_KEY = f"{STATE_PREFIX}/lock.json"
DEFAULT_TTL = dt.timedelta(minutes=10)

log = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class LockOwner:
    run_id: str
    command: str
    host: str
    pid: int
    started_at: str
    expires_at: str | None = None

    @classmethod
    def current(cls, run_id: str, command: str) -> LockOwner:
        return cls(run_id, command, socket.gethostname(), os.getpid(), _now().isoformat())

    def describe(self) -> str:
        return (
            f"run {self.run_id} ('moviedl {self.command}', pid {self.pid} on host {self.host}, "
            f"started {self.started_at})"
        )

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> LockOwner | None:
        """The owner ``data`` records, or None when it is not a lock record (see :meth:`parse`)."""
        parsed = cls.parse(data)
        return parsed if isinstance(parsed, LockOwner) else None

    @classmethod
    def parse(cls, data: bytes) -> LockOwner | str:
        """The owner ``data`` records, or why it is not a lock record of this shape: a JSON object
        with ``run_id``, ``command``, ``host`` (non-empty strings), ``pid`` (a whole number ≥ 1),
        ``started_at`` and, optionally, ``expires_at`` (ISO times with a UTC offset). Whatever
        else the bytes hold (not JSON, ``[1,2]``, ``null``, ``{"pid": "abc"}``, a naive time...)
        is not a lock this version can judge, and the callers treat it as unreadable."""
        try:
            values = json.loads(data)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return "not JSON" if data.strip() else "empty"
        if not isinstance(values, dict):
            return f"a JSON {_json_type(values)}, not an object"
        for name in ("run_id", "command", "host", "started_at"):
            if not isinstance(values.get(name), str) or not values[name].strip():
                return f"{name} is {_shown(values, name)}, not a non-empty string"
        pid = values.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid < 1:
            return f"pid is {_shown(values, 'pid')}, not a process id"
        for name in ("started_at", "expires_at"):
            if (name == "started_at" or values.get(name) is not None) and _parse_time(values[name]) is None:
                return f"{name} is {_shown(values, name)}, not an ISO time with a UTC offset"
        return cls(values["run_id"], values["command"], values["host"], pid, values["started_at"],
                   values.get("expires_at"))


class LakeLocked(UsageError):
    """Another run holds the lake (exit 2)."""


class LakeLock(ABC):
    key: str  # the lock's key in the lake

    def __init__(self, lake: Lake, owner: LockOwner) -> None:
        self.lake = lake
        self.owner = owner
        self.took_over: LockOwner | None = None
        self.lost = False

    def ensure_held(self) -> None:
        """Raise if this run no longer holds the lock (only an S3 lock can be lost)."""
        if self.lost:
            raise ServiceError(
                f"this run lost the lock of {self.lake.uri} (not renewed in time, or taken over); "
                "it stopped before publishing more",
                hint="Run the command again once no other run is active.",
            )


    @abstractmethod
    def acquire(self) -> None: ...

    @abstractmethod
    def release(self) -> None: ...

    def __enter__(self) -> LakeLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _refuse(self, holder: LockOwner | str | None, extra: str = "") -> LakeLocked:
        """``holder``: the owner, why its record is unreadable (a :meth:`LockOwner.parse` answer),
        or None when it is unknown."""
        if isinstance(holder, LockOwner):
            who = holder.describe()
        elif holder:
            who = f"another run (its owner record {self.lake.uri_of(self.key)} is unreadable: {holder})"
        else:
            who = "another run (its owner record is unreadable)"
        return LakeLocked(
            f"the lake {self.lake.uri} is in use by {who}",
            hint="Wait for it to finish; cron jobs should not overlap." + extra,
        )


class LocalLock(LakeLock):
    key = LOCAL_LOCK_KEY

    def __init__(self, lake: LocalLake, owner: LockOwner) -> None:
        super().__init__(lake, owner)
        self.path = lake.root / LOCAL_LOCK_KEY
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        with local_errors("lock the lake folder", self.path.parent):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = LockOwner.parse(os.pread(fd, 65536, 0))
            os.close(fd)
            raise self._refuse(holder) from None
        # Not held: whatever the file holds (a dead run's record, garbage) is overwritten.
        os.ftruncate(fd, 0)
        os.pwrite(fd, self.owner.to_json(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        import fcntl

        os.ftruncate(self._fd, 0)  # the file stays (unlinking a flock file races); it is empty
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


class S3Lock(LakeLock):
    key = S3_LOCK_KEY

    def __init__(self, lake: S3Lake, owner: LockOwner, ttl: dt.timedelta = DEFAULT_TTL) -> None:
        super().__init__(lake, owner)
        self.s3 = lake
        self.ttl = ttl
        self._etag: str | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._guard = threading.Lock()

    def _body(self) -> bytes:
        return replace(self.owner, expires_at=(_now() + self.ttl).isoformat()).to_json()

    def _put(self, **condition: str) -> bool:
        """Conditional PUT of our lock body; False when the condition did not hold."""
        with self.s3.errors("write the lock", S3_LOCK_KEY):
            try:
                answer = self.s3.client.put_object(
                    Bucket=self.s3.bucket, Key=self.s3.full_key(S3_LOCK_KEY), Body=self._body(),
                    ContentType="application/json", **condition, **self.s3.sse_args,
                )
            except Exception as exc:
                if error_code(exc) in PRECONDITION_FAILED:
                    return False
                raise
        self._etag = answer["ETag"]
        return True

    def _read(self) -> tuple[LockOwner | str | None, str | None, dt.datetime]:
        """The lock's owner (or why its content is not a lock record), its ETag (None: no lock)
        and S3's own clock at the time of reading."""
        with self.s3.errors("read the lock", S3_LOCK_KEY):
            try:
                answer = self.s3.client.get_object(Bucket=self.s3.bucket, Key=self.s3.full_key(S3_LOCK_KEY))
            except Exception as exc:
                if error_code(exc) in NOT_FOUND:
                    return None, None, _now()
                raise
            return LockOwner.parse(answer["Body"].read()), answer["ETag"], _server_time(answer)

    def acquire(self) -> None:
        for _attempt in range(3):
            if self._put(IfNoneMatch="*"):
                break
            found, etag, server_now = self._read()
            if etag is None:
                continue  # released between our PUT and our read: try again
            holder = found if isinstance(found, LockOwner) else None
            # Judged by S3's clock, not ours: a contender whose clock runs late cannot steal a live lock.
            expires = _parse_time(holder.expires_at) if holder else None
            dead = holder is not None and _dead_here(holder)
            if holder and expires is not None and expires > server_now and not dead:
                raise self._refuse(
                    holder,
                    f" If that process is gone, its lock expires at {holder.expires_at} "
                    "and the next run takes it over.",
                )
            # Stale, dead, or not a lock record at all (garbage, the wrong JSON shape): no live
            # run can be judged to own it, so it is taken over, atomically.
            if self._put(IfMatch=etag):
                self.took_over = holder
                if holder is None:
                    log.warning(
                        "took over the lake lock: its content is not a moviedl lock record",
                        extra={"fields": {"lock": self.lake.uri_of(self.key), "problem": found}},
                    )
                else:
                    log.warning(
                        "took over the lake lock of a process that no longer runs on this host" if dead
                        else "took over a stale lake lock",
                        extra={"fields": {"stale_owner": holder.describe()}},
                    )
                break
        else:
            raise self._refuse(None)
        self._heartbeat = threading.Thread(target=self._beat, name="moviedl-lock-heartbeat", daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        """Push the expiry forward every ttl/3. A failed renewal is retried until the lock would
        expire; a lock taken over, or not renewed in time, is *lost*: writes then stop."""
        renewed = time.monotonic()
        while not self._stop.wait(self.ttl.total_seconds() / 3):
            with self._guard:
                try:
                    held = self._etag is not None and self._put(IfMatch=self._etag)
                except ServiceError as exc:
                    if time.monotonic() - renewed < self.ttl.total_seconds() * 0.9:
                        log.warning("could not renew the lake lock; retrying", extra={"fields": {"error": exc.message}})
                        continue
                    held = False
                if not held:
                    self.lost = True
                    log.error("lost the lake lock: writes stop; run the command again")
                    return
                renewed = time.monotonic()

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        with self._guard:
            if self._etag is None:
                return
            try:
                with self.s3.errors("release the lock", S3_LOCK_KEY):
                    self.s3.client.delete_object(
                        Bucket=self.s3.bucket, Key=self.s3.full_key(S3_LOCK_KEY), IfMatch=self._etag
                    )
            except ServiceError as exc:  # taken over after it went stale, or S3 unreachable:
                # either way the lock expires on its own; the run's outcome stands
                log.warning("could not release the lake lock", extra={"fields": {"error": exc.message}})
            self._etag = None


def _dead_here(holder: LockOwner) -> bool:
    """True when ``holder`` ran on this host and its pid no longer exists. Another host, a pid
    that runs (ours included), or one we may not signal (another user's) counts as alive."""
    if holder.host != socket.gethostname() or not isinstance(holder.pid, int) or holder.pid <= 0:
        return False
    if holder.pid == os.getpid():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return False


def _server_time(answer: dict[str, Any]) -> dt.datetime:
    from email.utils import parsedate_to_datetime

    header = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return parsedate_to_datetime(header) if header else _now()
    except (TypeError, ValueError):
        return _now()


def _parse_time(value: object) -> dt.datetime | None:
    """An ISO time with a UTC offset (an offset-less one cannot be compared with S3's clock)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _json_type(value: object) -> str:
    kinds = ((bool, "boolean"), (int | float, "number"), (str, "string"), (list, "array"))
    return "null" if value is None else next((name for kind, name in kinds if isinstance(value, kind)), "value")


def _shown(values: dict[str, Any], name: str) -> str:
    """A field's value for a message: missing, or its JSON text cut to 40 characters."""
    if name not in values:
        return "missing"
    text = json.dumps(values[name])
    return text if len(text) <= 40 else text[:37] + "..."


def lock_lake(lake: Lake, owner: LockOwner, ttl: dt.timedelta = DEFAULT_TTL) -> LakeLock:
    """The lock that lets one run at a time write ``lake``, not yet acquired (use it as a context
    manager): an OS file lock for a local folder, which the kernel releases when the process dies;
    on S3 a lock object written with conditional PUTs, kept alive by a heartbeat, living ``ttl``
    without renewal."""
    if isinstance(lake, S3Lake):
        return S3Lock(lake, owner, ttl)
    if isinstance(lake, LocalLake):
        return LocalLock(lake, owner)
    raise TypeError(f"no lock for a {type(lake).__name__}")
