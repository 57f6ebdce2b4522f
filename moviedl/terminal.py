"""What the command line shows while a command works: a live status line or a line every 30 s
off a terminal, progress bars for bytes and TMDB lookups, and dbt-style stage lines for ``run``
(``12:03:04 3 of 5 OK refine [12.3s]`` off a terminal). Every line goes through
:func:`moviedl.output.say`, so with ``--log-format json`` each is one JSON object; status lines
and progress bars appear only on a terminal (:attr:`~moviedl.output.Display.LIVE`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.markup import escape

from moviedl.output import Display, display, say, stderr_console


class RunDisplay:
    """``run`` on a terminal: one live area holding what the current stage is doing (with the
    elapsed time) and, during ingest-tmdb, the lookups bar; stage lines print above it."""

    def __init__(self, progress: Any, command: str, task: Any) -> None:
        self.progress, self.console = progress, progress.console
        self.command, self.task = command, task
        self.tmdb = TmdbBar(progress)

    def stage_line(self, event: Any) -> None:
        """The stage line above the live area; a stage that starts shows in it at once, not at
        the next tick (a short stage would otherwise never show)."""
        stage_line(event, self.console)
        if event.status == "start":
            self.progress.update(self.task, description=f"moviedl {self.command}: {escape(event.name)}")
            self.progress.refresh()


class TmdbBar:
    """The TMDB lookups bar: its task appears with the first update (inside ``run``, when the
    ingest-tmdb stage starts); ``console`` prints above it without tearing it."""

    def __init__(self, progress: Any) -> None:
        self.progress, self.console, self.task = progress, progress.console, None

    def __call__(self, state: Any) -> None:
        if self.task is None:
            self.task = self.progress.add_task("TMDB lookups", total=None, rps="")
        self.progress.update(self.task, completed=state.done, total=state.total or None,
                             rps=f"{state.requests_per_second:.1f} req/s")


@contextlib.contextmanager
def tmdb_progress(enabled: bool) -> Iterator[TmdbBar | None]:
    """A rich progress bar (done/total, req/s, ETA) for TMDB lookups when stderr is a terminal."""
    if not (enabled and display() is Display.LIVE):
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
        TextColumn("{task.fields[rps]}"), TimeRemainingColumn(),
        console=stderr_console(), transient=True,
    ) as progress:
        yield TmdbBar(progress)


@contextlib.contextmanager
def run_progress(command: str, quiet: bool, bars: bool) -> Iterator[RunDisplay | None]:
    """What ``run`` shows while it works: on a terminal (and ``bars``) a live line with the
    current stage's activity (the lookups bar joins it during ingest-tmdb); else what
    :func:`live` shows."""
    if not (bars and not quiet and display() is Display.LIVE):
        with live(command, quiet, spinner=False):
            yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from moviedl.core import progress as activity

    class Counted(ProgressColumn):  # the bar, the count and the ETA show only for the lookups
        def __init__(self, inner: ProgressColumn) -> None:
            super().__init__()
            self.inner = inner

        def render(self, task: Any) -> Any:
            return self.inner.render(task) if task.total else ""

    counted = [Counted(column) for column in (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())]
    with Progress(SpinnerColumn(), "[progress.description]{task.description}", *counted,
                  TextColumn("{task.fields[rps]}"), console=stderr_console(), transient=True) as bar:
        doing = bar.add_task(f"moviedl {command}", total=None, rps="")
        shown = RunDisplay(bar, command, doing)
        with activity.stage(command), activity.Ticker(
            lambda line: bar.update(doing, description=f"moviedl {command}: {escape(line)}"), every=0.5
        ):
            yield shown


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
        if display(console) is Display.LIVE:
            if not spinner:
                yield
                return
            with console.status(f"moviedl {command}") as status:
                with progress.Ticker(lambda line: status.update(f"moviedl {command}: {escape(line)}"), every=0.5):
                    yield
            return
        every = float(os.environ.get("MOVIEDL_PROGRESS_SECONDS") or 30)
        with progress.Ticker(lambda line: say(f"moviedl {command}: {escape(line)}", "progress", console=console,
                                              command=command, doing=line), every=every):
            yield


def stage_line(event: Any, console: Any = None) -> None:
    """dbt-style: ``1 of 5 START ingest-csv`` ... ``1 of 5 OK ingest-csv [1.2s]``."""
    word = {"start": "START", "ok": "OK", "failed": "FAILED", "degraded": "DEGRADED",
            "skipped": "SKIP", "not run": "NOT RUN"}.get(event.status, event.status.upper())
    style = {"OK": "green", "FAILED": "bold red", "DEGRADED": "yellow"}.get(word, "")
    took = f" [{event.seconds:.1f}s]" if event.seconds is not None else ""
    shown = f"[{style}]{word}[/]" if style else word
    say(f"{event.index} of {event.total} {shown} {event.name}{took}", f"stage {event.status}", console=console,
        index=event.index, total=event.total, stage=event.name, status=event.status, seconds=event.seconds)


@contextlib.contextmanager
def byte_progress(files: list[Path], enabled: bool) -> Iterator[Any]:
    """A rich progress bar over the total bytes of ``files`` when stderr is a terminal."""
    if not (enabled and display() is Display.LIVE):
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
