"""What every command does around its work: a run id, the lake lock, logs, and a run record.

    with command_session(settings, lake, "refine") as session:
        summary = refine(settings, lake, ...)
        session.add("refine", summary)

On the way out — success, failure or exception — the run record is written to
``_moviedl/runs/<run-id>.json`` (best effort: a record that cannot be written is logged, and the
command's own outcome stands) and the lock is released.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from moviedl.config import Settings
from moviedl.errors import ExitCode, MoviedlError
from moviedl.lake import Lake
from moviedl.lock import LockOwner, lock_lake
from moviedl.logs import run_id_var, stage
from moviedl.runs import RunRecord, write_record
from moviedl.summary import Summary

log = logging.getLogger(__name__)


def secrets_of(settings: Settings) -> list[str]:
    return [s.reveal() for s in (settings.tmdb_api_key, settings.tmdb_read_access_token) if s is not None]


@dataclass
class Session:
    record: RunRecord
    lake: Lake

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def add(self, name: str, summary: Summary, seconds: float | None = None) -> None:
        self.record.add_stage(name, summary, seconds)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Log the stage's start and end; records carry its name."""
        started = time.monotonic()
        with stage(name):
            log.info("stage started")
            try:
                yield
            finally:
                log.info("stage ended", extra={"fields": {"seconds": round(time.monotonic() - started, 3)}})


@contextlib.contextmanager
def command_session(
    settings: Settings, lake: Lake, command: str, *, lock: bool = True, keep_record: bool = True
) -> Iterator[Session]:
    """Run id + lock (for commands that write the lake) + run record, for one command.

    ``keep_record=False`` (e.g. ``--dry-run``) writes nothing to the lake at all.
    """
    record = RunRecord.start(command, lake.uri, settings.date.isoformat(), secrets_of(settings))
    token = run_id_var.set(record.run_id)
    session = Session(record, lake)
    exit_code: int = ExitCode.OK
    error: str | None = None
    started = False  # a run refused before its work (lake unreachable, lock held) leaves no record
    try:
        lake.check()
        held = lock_lake(lake, LockOwner.current(record.run_id, command)) if lock else None
        with held or contextlib.nullcontext():
            started = True
            if held is not None:
                lake.write_guard = held.ensure_held
            if lock and (removed := lake.clean_tmp()):
                log.info("removed stale staged writes", extra={"fields": {"files": removed}})
            with session.stage(command):
                yield session
            if held is not None:
                held.ensure_held()  # a run that lost its lock does not report success
        exit_code = max((s.get("exit_code", 0) for s in record.stages), default=0)
    except MoviedlError as exc:
        exit_code, error = exc.exit_code, exc.message
        raise
    except KeyboardInterrupt:
        exit_code, error = 130, "interrupted"
        raise
    except BaseException as exc:
        exit_code, error = 1, f"unexpected error: {type(exc).__name__}: {exc}"
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
