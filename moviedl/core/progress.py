"""What the command is doing right now, for whoever shows progress.

The library says what it is working on (:func:`activity`: ``refine: trusted_movies
dt=2024-05-01``) and, for ``run``, which stage of how many (:func:`stage`). It never prints:
a :class:`Ticker` started by the command line reads the current activity and shows it — a live
status line on a terminal, or a plain line on stderr at least every ``every`` seconds when
stderr is a log file (cron), so a long step is never silent.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_lock = threading.Lock()
_state = {"stage": "", "detail": ""}


def activity(detail: str) -> None:
    """Say what the work is doing now (a table being built, a check being run)."""
    with _lock:
        _state["detail"] = detail


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """The command (or ``run``'s stage) in progress; its detail starts empty."""
    with _lock:
        previous = dict(_state)
        _state.update(stage=name, detail="")
    try:
        yield
    finally:
        with _lock:
            _state.update(previous)


def current() -> str:
    """``stage: detail`` (or one of them), as a status line shows it."""
    with _lock:
        return ": ".join(part for part in (_state["stage"], _state["detail"]) if part)


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@dataclass
class Ticker:
    """Calls ``show(line)`` with the current activity and the elapsed time every ``every``
    seconds (and ``refresh`` more often on a terminal) until stopped."""

    show: Callable[[str], None]
    every: float = 30.0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="moviedl-progress", daemon=True)

    def line(self) -> str:
        doing = current() or "working"
        return f"{doing} ({_elapsed(time.monotonic() - self._started)} elapsed)"

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.show(self.line())

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
