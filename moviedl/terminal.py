"""What the command line shows while a command works: a live status line or a line every 30 s
off a terminal, progress bars for bytes and TMDB lookups, and dbt-style stage lines for ``run``."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.markup import escape

from moviedl.output import stderr_console


class TmdbBar:
    """The TMDB lookups bar: its task appears with the first update (inside ``run``, when the
    ingest-tmdb stage starts); ``console`` prints above it without tearing it."""

    def __init__(self, progress: Any) -> None:
        self.progress, self.console, self.task = progress, progress.console, None

    def __call__(self, state: Any) -> None:
        if self.task is None:
            self.task = self.progress.add_task("TMDB lookups", total=None, rps=0.0)
        self.progress.update(self.task, completed=state.done, total=state.total or None,
                             rps=state.requests_per_second)


@contextlib.contextmanager
def tmdb_progress(enabled: bool) -> Iterator[TmdbBar | None]:
    """A rich progress bar (done/total, req/s, ETA) for TMDB lookups when stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rps]:.1f} req/s"), TimeRemainingColumn(),
        console=stderr_console(), transient=True,
    ) as progress:
        yield TmdbBar(progress)


@contextlib.contextmanager
def live(command: str, quiet: bool, *, spinner: bool = True) -> Iterator[None]:
    """Never a silent long step: on a terminal a status line (what is being done, elapsed) when
    ``spinner`` (commands with their own progress bar pass False); off a terminal (cron, a log
    file) a line on stderr every ``MOVIEDL_PROGRESS_SECONDS`` (default 30) while it runs."""
    from moviedl.core import progress

    if quiet:
        yield
        return
    console = stderr_console()
    with progress.stage(command):  # from the start: opening the lake and taking the lock count
        if sys.stderr.isatty():
            if not spinner:
                yield
                return
            with console.status(f"moviedl {command}") as status:
                with progress.Ticker(lambda line: status.update(f"moviedl {command}: {escape(line)}"), every=0.5):
                    yield
            return
        every = float(os.environ.get("MOVIEDL_PROGRESS_SECONDS") or 30)
        with progress.Ticker(lambda line: console.print(f"moviedl {command}: {escape(line)}", highlight=False,
                                                        soft_wrap=True), every=every):
            yield


def stage_line(event: Any, console: Any = None) -> None:
    """dbt-style: ``1 of 5 START ingest-csv`` ... ``1 of 5 OK ingest-csv in 1.2s``."""
    word = {"start": "START", "ok": "OK", "failed": "FAILED", "degraded": "DEGRADED",
            "skipped": "SKIP", "not run": "NOT RUN"}.get(event.status, event.status.upper())
    style = {"OK": "green", "FAILED": "bold red", "DEGRADED": "yellow"}.get(word, "")
    took = f" in {event.seconds:.1f}s" if event.seconds is not None else ""
    shown = f"[{style}]{word}[/]" if style else word
    (console or stderr_console()).print(f"{event.index} of {event.total} {shown} {event.name}{took}",
                           highlight=False, soft_wrap=True)


@contextlib.contextmanager
def byte_progress(files: list[Path], enabled: bool) -> Iterator[Any]:
    """A rich progress bar over the total bytes of ``files`` when stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    total = sum(p.stat().st_size for p in files if p.is_file())
    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(), console=stderr_console(), transient=True,
    ) as progress:
        task = progress.add_task("checking and copying", total=total)
        yield lambda n: progress.advance(task, n)
