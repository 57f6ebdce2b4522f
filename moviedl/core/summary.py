"""The result every command returns: what it read, wrote, skipped and checked.

Commands build a :class:`Summary`; the CLI renders it as a table (``--format text``) or one JSON
object (``--format json``) and exits with :attr:`Summary.exit_code`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from moviedl.core.errors import ExitCode

MAX_SAMPLES = 5  # offending rows a failed check shows


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


def _key(phrase: str) -> str:
    """``typing CSV`` -> ``typing_csv``: a phrase as a JSON key (docs/summary.schema.json)."""
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")


@dataclass(frozen=True)
class Check:
    """One verification: what was checked, against what target, what was seen."""

    name: str
    target: str
    observed: str
    status: Status
    expected: str = ""
    samples: tuple[str, ...] = ()  # up to MAX_SAMPLES offending rows or keys, as text

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {k: str(v) for k, v in asdict(self).items() if k != "samples"}
        found["samples"] = list(self.samples)
        return found

    def describe(self) -> str:
        """One line for a problem list: target, check, what was seen and what was expected."""
        return f"{self.target}: {self.name}: {self.observed} (expected {self.expected})"


@dataclass
class Summary:
    command: str
    lake: str
    date: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.OK
    output: str | None = None  # what the command emits besides the summary (athena-ddl's DDL)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase (refine), for -v

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK

    def fail(self, code: ExitCode) -> None:
        """Raise the exit code to ``code`` (a higher code is more severe and wins)."""
        self.exit_code = max(self.exit_code, code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "lake": self.lake,
            "date": self.date,
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "counts": self.counts,
            "rows": self.rows,
            "checks": [c.to_dict() for c in self.checks],
            "problems": self.problems,
            "notes": self.notes,
            **({"timings": {_key(phase): s for phase, s in self.timings.items()}} if self.timings else {}),
        }
