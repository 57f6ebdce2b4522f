"""Interrupts (Ctrl-C, ``kill``, cron's or systemd's timeout): recorded once, and they win.

:func:`install` makes SIGINT and SIGTERM set a process-wide flag and raise
:class:`KeyboardInterrupt`, so ``finally`` blocks run (staged files removed, the lake lock
released). The flag matters because the exception does not always survive the trip: a signal
that lands while DuckDB runs a query comes out as ``duckdb.InterruptException`` ("Query
interrupted"), which library code may turn into a failed check or a :class:`DataCheckError`.
So wherever an outcome is decided — the session's run record, the CLI's exit code — an
interrupt that arrived replaces whatever the work produced: exit 130, nothing more published
(the lake's write guard calls :func:`check` before anything becomes visible).
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from moviedl.core.errors import ExitCode, MoviedlError

_arrived = threading.Event()

MESSAGE = "nothing half-written was published"


def interrupted() -> bool:
    """Whether SIGINT or SIGTERM arrived in this process (see :func:`install`)."""
    return _arrived.is_set()


def note() -> None:
    """Record an interrupt (what the signal handler does, minus the exception)."""
    _arrived.set()


def reset() -> None:
    """Forget a recorded interrupt (tests that run several commands in one process)."""
    _arrived.clear()


def check() -> None:
    """Raise :class:`KeyboardInterrupt` if an interrupt arrived: stop before publishing more."""
    if _arrived.is_set():
        raise KeyboardInterrupt


def _handler(signum: int, frame: FrameType | None) -> None:
    first = not _arrived.is_set()
    _arrived.set()
    if first:  # a second signal must not break the cleanup the first one started
        raise KeyboardInterrupt


def install() -> None:
    """Handle SIGINT and SIGTERM (main thread only; called once by ``moviedl``'s entry point)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)


def is_duckdb_interrupt(exc: BaseException) -> bool:
    """``exc`` is, or was raised while handling, an interrupt: DuckDB's "Query interrupted"
    (``duckdb.InterruptException``, or a plain ``RuntimeError`` from the Python client's
    pending-query loop) or a :class:`KeyboardInterrupt`."""
    duckdb = sys.modules.get("duckdb")
    kind = getattr(duckdb, "InterruptException", None) if duckdb is not None else None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, KeyboardInterrupt) or (kind is not None and isinstance(current, kind)):
            return True
        if type(current) is RuntimeError and str(current) == "Query interrupted":
            return True
        current = current.__cause__ or current.__context__
    return False


def is_interrupt(exc: BaseException) -> bool:
    """Whether the failure ``exc`` is (or came from) an interrupt."""
    return interrupted() or isinstance(exc, KeyboardInterrupt) or is_duckdb_interrupt(exc)


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, for an unexpected exception."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def outcome(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-line error a failure ``exc`` gives (the run record's view)."""
    if is_interrupt(exc):
        return int(ExitCode.INTERRUPTED), "interrupted"
    if isinstance(exc, MoviedlError):
        return int(exc.exit_code), exc.message
    if isinstance(exc, SystemExit) and isinstance(exc.code, int):
        return exc.code, f"exited with code {exc.code}"
    return int(ExitCode.INTERNAL), f"internal error: {one_line(exc)}"
