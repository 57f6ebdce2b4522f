"""Run records: ``_moviedl/runs/<run-id>.json``, one per command, so a failed night can be read
the next morning: what ran with which arguments and versions, each stage's counts, files and
checks, and the exit code."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import secrets as _random
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from moviedl import __version__
from moviedl.core.errors import ExitCode, UsageError
from moviedl.core.summary import Summary
from moviedl.storage.lake import STATE_PREFIX, Lake

RUNS_PREFIX = f"{STATE_PREFIX}/runs/"
LIBRARIES = ("duckdb", "pyarrow", "boto3", "requests", "tenacity", "typer", "rich")
_SECRET_ARG = re.compile(r"(?i)(api_key|token|secret|password)=([^&\s]+)")


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable by time: ``20240501T021500Z-1a2b3c``."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{_random.token_hex(3)}"


def current_run_id() -> str:
    """The run id of the command in progress (see :mod:`moviedl.app.session`), else a new one."""
    from moviedl.core.logs import run_id_var

    current = run_id_var.get()
    return current if current != "-" else new_run_id()


def library_versions() -> dict[str, str]:
    versions = {"moviedl": __version__, "python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def mask_args(argv: list[str], secrets: list[str]) -> list[str]:
    masked = []
    for arg in argv:
        for secret in secrets:
            if secret:
                arg = arg.replace(secret, "****")
        masked.append(_SECRET_ARG.sub(r"\1=****", arg))
    return masked


@dataclass
class RunRecord:
    run_id: str
    command: str
    argv: list[str]
    lake: str
    date: str | None
    started_at: str
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    versions: dict[str, str] = field(default_factory=library_versions)
    ended_at: str | None = None
    duration_seconds: float | None = None
    exit_code: int | None = None
    error: str | None = None
    stages: list[dict[str, Any]] = field(default_factory=list)
    _started: float = field(default_factory=time.monotonic, repr=False)

    @classmethod
    def start(cls, command: str, lake: str, date: str | None, secrets: list[str], run_id: str | None = None) -> RunRecord:
        now = dt.datetime.now(dt.UTC)
        return cls(
            run_id=run_id or new_run_id(now),
            command=command,
            argv=mask_args(sys.argv[1:], secrets),
            lake=lake,
            date=date,
            started_at=now.isoformat(timespec="milliseconds"),  # orders runs of the same second
        )

    def add_stage(
        self, name: str, summary: Summary, seconds: float | None = None, *, interrupted: bool = False
    ) -> None:
        """``interrupted``: the stage's summary is what an interrupted run made of its work (e.g.
        a check that failed with "Query interrupted"), so the stage is recorded as exit 130."""
        entry: dict[str, Any] = {"stage": name, "seconds": round(seconds, 3) if seconds is not None else None}
        entry.update(summary.to_dict())
        if interrupted:
            entry.update(ok=False, exit_code=int(ExitCode.INTERRUPTED), interrupted=True)
            entry["problems"] = [*entry.get("problems", []), "interrupted: the stage did not finish"]
        self.stages.append(entry)

    def finish(self, exit_code: int, error: str | None = None) -> None:
        self.exit_code = int(exit_code)
        self.error = error
        self.ended_at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        self.duration_seconds = round(time.monotonic() - self._started, 3)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_started")
        return data

    def key(self) -> str:
        return f"{RUNS_PREFIX}{self.run_id}.json"


def write_record(lake: Lake, record: RunRecord) -> str:
    lake.write_bytes(record.key(), json.dumps(record.to_dict(), indent=2, ensure_ascii=False, default=str).encode())
    return lake.uri_of(record.key())


def recent_records(lake: Lake, last: int = 10) -> list[dict[str, Any]]:
    """The newest ``last`` run records, newest first. Run ids sort by their start second; runs
    that started in the same second are ordered by ``started_at`` (milliseconds)."""
    keys = sorted((o.key for o in lake.list_objects(RUNS_PREFIX) if o.key.endswith(".json")), reverse=True)
    second = _second_of(keys[last - 1]) if len(keys) >= last else None
    chosen = keys[:last] + [k for k in keys[last:] if _second_of(k) == second]
    records = [_read_record(lake, key) for key in chosen]
    records.sort(key=lambda r: (_second_of(str(r.get("run_id", ""))), str(r.get("started_at") or "")), reverse=True)
    return records[:last]


def find_record(lake: Lake, run_id: str) -> dict[str, Any]:
    """The record of the run ``run_id``, or of the one run whose id starts with it (as git takes
    a commit's prefix). None, or several: :class:`UsageError` (exit 2) saying what to do."""
    ids = sorted((o.key[len(RUNS_PREFIX):-5] for o in lake.list_objects(RUNS_PREFIX) if o.key.endswith(".json")),
                 reverse=True)
    chosen = [i for i in ids if i == run_id] or [i for i in ids if run_id and i.startswith(run_id)]
    if not chosen:
        raise UsageError(f"no run {run_id!r} in {lake.uri_of(RUNS_PREFIX)} ({len(ids)} run records; "
                         "moviedl runs lists the newest)")
    if len(chosen) > 1:
        shown = ", ".join(chosen[:5]) + (" ..." if len(chosen) > 5 else "")
        raise UsageError(f"{run_id!r} names {len(chosen)} runs ({shown}); give more of the run id")
    return _read_record(lake, f"{RUNS_PREFIX}{chosen[0]}.json")


def _second_of(key: str) -> str:
    """``20240501T021500Z`` of a run id or of its record's key."""
    return key.rsplit("/", 1)[-1].split("-", 1)[0]


def _read_record(lake: Lake, key: str) -> dict[str, Any]:
    try:
        record = json.loads(lake.read_bytes(key))
    except ValueError:
        record = None
    if not isinstance(record, dict):
        record = {"run_id": key.rsplit("/", 1)[-1][:-5], "error": "record unreadable"}
    return record
