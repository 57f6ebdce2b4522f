"""Render a :class:`~moviedl.summary.Summary` for people (rich tables) or programs (JSON)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from moviedl.summary import Status, Summary

_STATUS_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def stdout_console() -> Console:
    # Off a terminal (pipes, cron, tests) use a wide fixed width so rows do not wrap.
    return Console(width=None if sys.stdout.isatty() else 160, soft_wrap=False)


def stderr_console() -> Console:
    return Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return escape(str(value))


def render(summary: Summary, fmt: OutputFormat, quiet: bool = False) -> None:
    out, err = stdout_console(), stderr_console()
    for problem in summary.problems:
        err.print(f"[bold red]Error:[/] {escape(problem)}", highlight=False)
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(summary.to_dict(), ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
        return
    if quiet:
        return
    if summary.rows:
        table = Table(title=f"moviedl {summary.command}", title_justify="left")
        for column in summary.columns:
            numeric = all(isinstance(row.get(column), int | float | None) for row in summary.rows)
            table.add_column(column, overflow="fold", justify="right" if numeric else "left")
        for row in summary.rows:
            table.add_row(*(_cell(_short(column, row.get(column))) for column in summary.columns))
        out.print(table)
    zones = {row["dataset"]: row["zone"] for row in summary.rows if "zone" in row and "dataset" in row}
    if zones and all(c.target in zones for c in summary.checks):
        _zone_tables(out, summary, zones)  # validate: every check, one table per zone
        failing = []
    else:
        failing = [c for c in summary.checks if c.status is not Status.PASS]
    if failing:
        checks = Table(title="checks that did not pass", title_justify="left")
        for column in ("check", "target", "expected", "observed", "status"):
            checks.add_column(column, overflow="fold")
        for check in failing:
            style = _STATUS_STYLE[check.status]
            checks.add_row(
                escape(check.name), escape(check.target), escape(check.expected),
                escape(check.observed), f"[{style}]{check.status}[/]",
            )
        out.print(checks)
    for note in summary.notes:
        out.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    passed = sum(c.status is Status.PASS for c in summary.checks)
    counts = " · ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in summary.counts.items())
    verdict = "[green]OK[/]" if summary.exit_code == 0 else f"[bold red]FAILED (exit {int(summary.exit_code)})[/]"
    checks_text = f" · checks passed {passed}/{len(summary.checks)}" if summary.checks else ""
    out.print(f"{verdict} {escape(counts)}{checks_text}", highlight=False)


def _short(column: str, value: Any) -> Any:
    if column == "sha256" and isinstance(value, str):
        return value[:12]
    return value


def _zone_tables(out: Console, summary: Summary, zones: dict[str, str]) -> None:
    for zone in dict.fromkeys(zones.values()):
        table = Table(title=f"{zone} checks", title_justify="left")
        for column in ("check", "target", "observed", "status"):
            table.add_column(column, overflow="fold")
        for check in summary.checks:
            if zones[check.target] == zone:
                style = _STATUS_STYLE[check.status]
                table.add_row(escape(check.name), escape(check.target), escape(check.observed),
                              f"[{style}]{check.status}[/]")
        out.print(table)
