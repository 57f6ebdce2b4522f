"""Render a :class:`~moviedl.core.summary.Summary` for people (rich tables) or programs (JSON),
and say one line on stderr the way its reader wants it (:func:`say`).

Where the output goes decides its look (:class:`Display`): on a terminal, colours and boxed
tables; off a terminal (cron, a pipe, a log file), plain lines each starting with the time and
tables without box drawing; with ``--log-format json``, every line on stderr is one JSON object.

Tables fit the console without splitting a number, id or word across lines: each table is tried
in today's boxed layout, then in a compact one (no box; then abbreviated headers), then without the
command's low-value columns, and, when even that cannot fit, as one ``key: value`` block per row.
Free text (details, observed) wraps between words only.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from moviedl.core.logs import json_line
from moviedl.core.summary import Check, Status, Summary

_STATUS_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}
_RANK = {Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2}

#: Compact headers: long words abbreviated (``_`` also becomes a space, so headers wrap).
_SHORT = {"duplicates": "dups", "quarantined": "quar", "partitions": "parts", "statements": "stmts",
          "destination": "dest", "started_at": "started"}
#: Columns a narrow console drops, in this order, before it falls back to one block per row. Every
#: one is redundant or secondary: the JSON output keeps them all.
_DROP: dict[str, tuple[str, ...]] = {
    "ingest-csv": ("destination",),  # Raw/Local/CSV/<kind>/<date>/<file>: the kind and the date say it
    "runs": ("started_at",),  # the run id starts with the same timestamp
    "refine": ("files",),
    "validate": ("files", "bytes"),
    "athena-ddl": ("partitions", "columns"),
}


#: The column whose paths are shown relative to the lake (named once, in the table's title).
_IN_LAKE = {"ingest-csv": "destination", "ingest-tmdb": "file"}


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


class Display(StrEnum):
    """How lines on stderr look."""

    LIVE = "live"  # a terminal: colours, a live status line, progress bars
    PLAIN = "plain"  # off a terminal (cron, a pipe): plain lines, each starting with HH:MM:SS
    JSON = "json"  # --log-format json: every line one JSON object, as the log records are


_JSON_LOGS = [False]


def use_json_logs(on: bool) -> None:
    """``--log-format json``: what :func:`say` writes becomes JSON objects, like the logs."""
    _JSON_LOGS[0] = on


def display(console: Console | None = None) -> Display:
    """How a line on ``console`` (default: stderr) looks."""
    if _JSON_LOGS[0]:
        return Display.JSON
    return Display.LIVE if (console or stderr_console()).is_terminal else Display.PLAIN


def say(markup: str, event: str, *, level: int = logging.INFO, console: Console | None = None,
        **fields: Any) -> None:
    """One line on stderr: ``markup`` (rich markup) on a terminal; the same text in plain,
    prefixed with the local time, off a terminal; one JSON object ``{"event": event, "fields":
    fields, ...}`` with ``--log-format json``. Never wrapped: one line, however long."""
    shown = display(console)
    if shown is Display.JSON:
        sys.stderr.write(json_line(event, fields, level) + "\n")
        sys.stderr.flush()
        return
    console = console or stderr_console()
    if shown is Display.PLAIN:  # every line timed, a hint under its error too
        now = time.strftime("%H:%M:%S")
        markup = "\n".join(f"{now} {escape(line)}" for line in Text.from_markup(markup).plain.splitlines())
    console.print(markup, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    # Off a terminal (pipes, cron, tests) use a wide fixed width so rows do not wrap.
    return Console(width=None if sys.stdout.isatty() else 160, soft_wrap=False)


def stderr_console() -> Console:
    # Off a terminal nothing is hard-wrapped: one line per message, so logs can be grepped.
    tty = sys.stderr.isatty()
    return Console(stderr=True, width=None if tty else 160, soft_wrap=not tty)


def render(summary: Summary, fmt: OutputFormat, quiet: bool = False, verbose: int = 0, *,
           out: Console | None = None, err: Console | None = None) -> None:
    """Print ``summary``: errors on ``err``, then (unless ``quiet``) tables or JSON on ``out``.

    ``verbose >= 1`` makes validate list every check (one table per zone) instead of counts,
    and prints the seconds spent per phase when the command measured them (refine).
    """
    out = out or stdout_console()
    err = err or stderr_console()
    for problem in summary.problems:
        say(f"[bold red]Error:[/] {escape(problem)}", "problem", level=logging.ERROR, console=err,
            command=summary.command, problem=problem)
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(summary.to_dict(), ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
        return
    if quiet:
        return
    zones = {row["dataset"]: row["zone"] for row in summary.rows if "zone" in row and "dataset" in row}
    by_zone = bool(zones) and all(c.target in zones for c in summary.checks)  # validate
    if summary.rows and (not by_zone or verbose >= 1):
        numeric = {c for c in summary.columns
                   if all(isinstance(row.get(c), int | float | None) for row in summary.rows)}
        title, path = f"moviedl {summary.command}", _IN_LAKE.get(summary.command, "")
        bases = {str(row[path]).partition("/Raw/")[0] for row in summary.rows if row.get(path)}
        under = f"{bases.pop()}/" if len(bases) == 1 else ""
        if under and all(str(row[path]).startswith(under + "Raw/") for row in summary.rows if row.get(path)):
            title += f": {path}s under {under}"  # the keys alone: with the lake's URI they rarely fit
        else:
            path = ""
        _print_table(out, title, summary.columns,
                     [[Text(_cell(_short(c, row.get(c), under if c == path else ""))) for c in summary.columns]
                      for row in summary.rows],
                     numeric, _DROP.get(summary.command, ()))
    if by_zone and verbose >= 1:
        for zone in dict.fromkeys(zones.values()):  # every check, one table per zone
            _checks_table(out, f"{zone} checks", ("check", "target", "observed", "status"),
                          [c for c in summary.checks if zones[c.target] == zone])
    elif by_zone:
        _zone_counts(out, summary, zones)
    for note in summary.notes:
        out.print(Text(f"note: {note}", style="dim"), highlight=False)
    if verbose >= 1 and summary.timings:  # where the time went (refine's phases)
        spent = " · ".join(f"{phase} {seconds:.2f}s" for phase, seconds in summary.timings.items())
        out.print(Text(f"timings: {spent}", style="dim"), highlight=False)
    failing = sorted((c for c in summary.checks if c.status is not Status.PASS), key=lambda c: _RANK[c.status])
    if failing:  # warnings, then failures: last, just above the verdict, where the eye lands
        _checks_table(out, "checks that did not pass", ("check", "target", "expected", "observed", "status"),
                      failing)
    passed = sum(c.status is Status.PASS for c in summary.checks)
    counts = " · ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in summary.counts.items())
    verdict = Text("OK", style="green") if summary.exit_code == 0 else Text(
        f"FAILED (exit {int(summary.exit_code)})", style="bold red")
    counted = "checks" in summary.counts  # the command counts its checks itself (validate, run): once
    checks_text = f" · checks passed {passed}/{len(summary.checks)}" if summary.checks and not counted else ""
    out.print(Text.assemble(verdict, f" {counts}{checks_text}"), highlight=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):  # a setting's table: tmdb coverage=error, freshness=off
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list):  # runs' stages: ingest-csv:0, refine:0
        return ", ".join(":".join(map(str, v.values())) if isinstance(v, dict) else _cell(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _short(column: str, value: Any, under: str = "") -> Any:
    if column == "sha256" and isinstance(value, str):
        return value[:12]
    if under and isinstance(value, str):
        return value.removeprefix(under)
    return value


def _status(status: Status) -> Text:
    return Text(str(status), style=_STATUS_STYLE[status])


def _checks_table(out: Console, title: str, columns: Sequence[str], checks: list[Check]) -> None:
    rows = [[_status(c.status) if col == "status" else Text(getattr(c, {"check": "name"}.get(col, col)))
             for col in columns] for c in checks]
    _print_table(out, title, columns, rows, set(), ())


def _zone_counts(out: Console, summary: Summary, zones: dict[str, str]) -> None:
    """validate's default view: the passing checks as counts per zone."""
    columns = ("zone", "datasets", "checks", "passed", "warnings", "failed")
    rows = []
    for zone in dict.fromkeys(zones.values()):
        checks = [c for c in summary.checks if zones[c.target] == zone]
        counted = [sum(c.status is s for c in checks) for s in (Status.PASS, Status.WARN, Status.FAIL)]
        rows.append([Text(zone), *(Text(f"{n:,}") for n in [list(zones.values()).count(zone), len(checks)]),
                     Text(f"{counted[0]:,}"),
                     Text(f"{counted[1]:,}", style=_STATUS_STYLE[Status.WARN] if counted[1] else ""),
                     Text(f"{counted[2]:,}", style=_STATUS_STYLE[Status.FAIL] if counted[2] else "")])
    _print_table(out, f"moviedl {summary.command}", columns, rows, set(columns[1:]), ())


# --- fitting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    make: Callable[[str], Table]
    overhead: Callable[[int], int]  # characters a table of n columns spends on borders and padding
    header: Callable[[str], str]


_BOXED = _Style(lambda title: Table(title=title, title_justify="left"), lambda n: 3 * n + 1, lambda h: h)
_COMPACT_FULL = _Style(
    lambda title: Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                        pad_edge=False, padding=(0, 1, 0, 0)),
    lambda n: 2 * (n - 1),
    lambda h: h,
)
_COMPACT = _Style(_COMPACT_FULL.make, _COMPACT_FULL.overhead, lambda h: _SHORT.get(h, h).replace("_", " "))


def _print_table(out: Console, title: str, columns: Sequence[str], rows: list[list[Text]],
                 numeric: set[str], droppable: Sequence[str]) -> None:
    """Print the first layout that fits ``out``'s width without splitting a word; else blocks."""
    attempts = [(_BOXED, list(columns))] if out.is_terminal else []  # boxes only on a terminal
    attempts += [(_COMPACT_FULL, list(columns)), (_COMPACT, list(columns))]
    kept = list(columns)
    for column in droppable:
        if column in kept:
            kept = [c for c in kept if c != column]
            attempts.append((_COMPACT, kept))
    best: tuple[int, _Style, list[str], list[str], list[int]] | None = None
    for style, shown in attempts:  # the layout that leaves the most columns unwrapped; the first on a tie
        index = [list(columns).index(c) for c in shown]
        headers = [style.header(c) for c in shown]
        fitted = _widths(out.width - style.overhead(len(shown)), headers, [[row[i] for row in rows] for i in index])
        if fitted is not None and (best is None or fitted[1] > best[0]):
            best = (fitted[1], style, shown, headers, fitted[0])
        if best is not None and best[0] == len(best[2]):
            break  # every column whole: no need to abbreviate or drop more
    if best is not None:
        _, style, shown, headers, widths = best
        index = [list(columns).index(c) for c in shown]
        table = style.make(title)
        for column, header, width in zip(shown, headers, widths, strict=True):
            table.add_column(header, width=width, overflow="fold",
                             justify="right" if column in numeric else "left")
        for row in rows:
            table.add_row(*(row[i] for i in index))
        out.print(table)
        return
    _print_blocks(out, title, list(columns), rows)


def _widths(available: int, headers: list[str], cells: list[list[Text]]) -> tuple[list[int], int] | None:
    """Column widths that fit ``available`` with every word whole (None when none do), and how
    many columns get their full width. Short wishes are granted first: ids and numbers stay on one
    line, long free text wraps."""
    texts = [[header, *(c.plain for c in column)] for header, column in zip(headers, cells, strict=True)]
    least = [max(_longest_word(t) for t in column) for column in texts]
    most = [max(cell_len(line) for t in column for line in t.splitlines() or [""]) for column in texts]
    if sum(least) > available:
        return None
    widths = list(least)
    spare = available - sum(widths)
    for i in sorted(range(len(widths)), key=lambda i: most[i] - least[i]):
        give = min(most[i] - widths[i], spare)
        widths[i] += give
        spare -= give
    return widths, sum(w >= m for w, m in zip(widths, most, strict=True))


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def _print_blocks(out: Console, title: str, columns: list[str], rows: list[list[Text]]) -> None:
    """One ``key: value`` block per row: the layout of last resort on a narrow console. Unknown
    values (``-``) are left out; a value with a word too wide to sit beside its key goes on the
    next line, indented, so that the word stays whole when it fits the line at all."""
    out.print(Text(title, style="italic"), highlight=False)
    key_width = min(max(cell_len(c) for c in columns) + 1, max(1, out.width // 3))
    for n, row in enumerate(rows):
        if n:
            out.print()
        for column, cell in zip(columns, row, strict=True):
            if cell.plain in ("", "-"):
                continue
            if _longest_word(cell.plain) <= out.width - key_width - 1:
                grid = Table.grid(padding=(0, 1, 0, 0))
                grid.add_column(width=key_width, overflow="fold", style="bold")
                grid.add_column(overflow="fold")
                grid.add_row(f"{column}:", cell)
                out.print(grid)
            else:
                out.print(Text(f"{column}:", style="bold"))
                indent = 2 if _longest_word(cell.plain) <= out.width - 2 else 0
                out.print(Padding(cell, (0, 0, 0, indent)))
