"""What every command does around its work: a run id, the lake lock, logs, and a run record.

    with command_session(settings, lake, "refine") as session:
        summary = refine(settings, lake, ...)
        session.add("refine", summary)

On the way out — success, failure or exception — the run record is written to
``_moviedl/runs/<run-id>.json`` (best effort: a record that cannot be written is logged, and the
command's own outcome stands) and the lock is released. An interrupt (SIGINT/SIGTERM, see
:mod:`moviedl.core.interrupt`) wins over whatever the work made of it: the record says exit 130, and
the lake's write guard refuses to publish anything more once it arrived. An unexpected exception
is recorded as exit 4.

Read-only commands (``read_only=True``) never create a lake: a local folder that does not exist,
or an S3 prefix that holds no object, is refused with exit 2 before anything is written.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from moviedl.core import interrupt, progress
from moviedl.core.config import Settings
from moviedl.core.errors import ExitCode, UsageError
from moviedl.core.logs import run_id_var, stage
from moviedl.core.summary import Summary
from moviedl.storage.lake import Lake
from moviedl.storage.lock import LakeLock, LockOwner, lock_lake
from moviedl.storage.runs import RunRecord, write_record

log = logging.getLogger(__name__)


@dataclass
class Session:
    record: RunRecord
    lake: Lake

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def add(self, name: str, summary: Summary, seconds: float | None = None) -> None:
        """Record the stage's summary. If an interrupt arrived while it ran, the summary is
        what the interrupted work made of it: it is recorded as interrupted, and the run stops."""
        stopped = interrupt.interrupted()
        self.record.add_stage(name, summary, seconds, interrupted=stopped)
        if stopped:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Log the stage's start and end; records carry its name. No stage starts after an
        interrupt."""
        interrupt.check()
        started = time.monotonic()
        with stage(name), progress.stage(name):
            log.info("stage started")
            try:
                yield
            finally:
                log.info("stage ended", extra={"fields": {"seconds": round(time.monotonic() - started, 3)}})


def require_lake(lake: Lake) -> None:
    """Refuse (exit 2) a lake that does not exist: a local folder that is not there, or an S3
    prefix that holds no object (a missing bucket stays a :class:`ServiceError`, exit 3)."""
    lake.check()
    if lake.exists_as_lake():
        return
    raise UsageError(
        f"no lake at {lake.location}",
        hint="Check --lake / MOVIEDL_LAKE, or run 'moviedl ingest-csv' first to create the lake.",
    )


def _guard(held: LakeLock | None) -> Callable[[], None]:
    """The lake's write guard: stop publishing after an interrupt, or once the lock is lost."""

    def guard() -> None:
        interrupt.check()
        if held is not None:
            held.ensure_held()

    return guard


@contextlib.contextmanager
def command_session(
    settings: Settings,
    lake: Lake,
    command: str,
    *,
    lock: bool = True,
    keep_record: bool = True,
    read_only: bool = False,
) -> Iterator[Session]:
    """Run id + lock (for commands that write the lake) + run record, for one command.

    ``keep_record=False`` (e.g. ``--dry-run``) writes nothing to the lake at all;
    ``read_only=True`` refuses a lake that does not exist (see :func:`require_lake`).
    """
    record = RunRecord.start(command, lake.uri, settings.date.isoformat(), settings.secrets())
    token = run_id_var.set(record.run_id)
    session = Session(record, lake)
    exit_code: int = ExitCode.OK
    error: str | None = None
    started = False  # a run refused before its work (lake unreachable, lock held) leaves no record
    try:
        if read_only:
            require_lake(lake)
        else:
            lake.check()
        held = lock_lake(lake, LockOwner.current(record.run_id, command)) if lock else None
        with held or contextlib.nullcontext():
            started = True
            lake.write_guard = _guard(held)
            if lock and (removed := lake.clean_tmp()):
                log.info("removed stale staged writes", extra={"fields": {"files": removed}})
            with session.stage(command):
                yield session
            interrupt.check()  # whatever the work made of an interrupt, the run was interrupted
            if held is not None:
                held.ensure_held()  # a run that lost its lock does not report success
        exit_code = max((s.get("exit_code", 0) for s in record.stages), default=0)
    except BaseException as exc:
        exit_code, error = interrupt.outcome(exc)
        raise
    finally:
        lake.write_guard = None
        record.finish(exit_code, error)
        if keep_record and started:
            try:
                where = write_record(lake, record)
                log.info("run record written", extra={"fields": {"where": where}})
            except Exception as exc:  # noqa: BLE001 - the command's own outcome must stand
                log.error("could not write the run record", extra={"fields": {"error": str(exc)}})
        run_id_var.reset(token)
