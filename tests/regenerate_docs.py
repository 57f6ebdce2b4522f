"""Regenerate the command output shown in README.md and docs/*.md.

    python3 -m tests.regenerate_docs

A *generated block* is a plain fenced block (no language) whose first line is ``$ moviedl ...``.
Every ``$ `` line in it is a command; the lines after it are that command's output. This script
runs the commands of each document in order, in one fresh folder holding the bundled samples
(as ``movies.csv``, ``series.csv`` and ``moviedl/samples/...``) and no lake, and writes their
real output back into the block. What varies from run to run is normalized (see
:func:`normalize`): run ids, the temporary folder, seconds, the age of the sample date.

tests/test_docs.py fails when the committed documents differ from what this script would write,
so the output shown cannot drift from what moviedl prints. Review the diff before committing.

The helpers here (fenced-block parsing, the sample folder, running a doc command line) are
shared with tests/test_docs.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from typer.testing import CliRunner

from moviedl.cli import app

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = resources.files("moviedl") / "samples"
DOC_HOME = "/home/you/movies"  # the working folder as the documents show it

# Files the documents' examples name that the bundled samples do not provide.
FIXTURES = {
    # getting-started.md "Your own files": a movies.csv exported comma-delimited by mistake.
    "exported.csv": lambda: "\n".join(
        line.replace("|", ",") for line in _sample("movies.csv").splitlines()[:3]
    )
    + "\n",
}

FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)\s*$")


def _sample(name: str) -> str:
    return (SAMPLES / name).read_text("utf-8")


def documents() -> list[Path]:
    """README.md and every docs/*.md, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Block:
    """One fenced block: its language, the 0-based line numbers of its fences, its lines."""

    lang: str
    start: int  # the opening fence
    end: int  # the closing fence
    lines: list[str] = field(default_factory=list)
    before: str = ""  # the nearest non-blank line above the opening fence

    @property
    def generated(self) -> bool:
        return self.lang == "" and bool(self.lines) and self.lines[0].startswith("$ moviedl ")


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text."""
    out: list[Block] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != fence:
            j += 1
        before = next((ln for ln in reversed(lines[:i]) if ln.strip()), "")
        out.append(Block(lang, i, j, lines[i + 1 : j], before.strip()))
        i = j + 1
    return out


def prepare_folder(folder: Path) -> None:
    """The samples where the documents expect them, plus :data:`FIXTURES`."""
    (folder / "moviedl" / "samples").mkdir(parents=True, exist_ok=True)
    for name in ("movies.csv", "series.csv"):
        text = _sample(name)
        (folder / name).write_text(text, "utf-8")
        (folder / "moviedl" / "samples" / name).write_text(text, "utf-8")
    for name, make in FIXTURES.items():
        (folder / name).write_text(make(), "utf-8")


def clean_environ() -> dict[str, str | None]:
    """Environment changes for CliRunner: no moviedl/TMDB/AWS setting of the caller applies."""
    env: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith(("MOVIEDL_", "TMDB_", "AWS_"))
    }
    env.update(
        {
            "MOVIEDL_TMDB_BASE_URL": "http://127.0.0.1:9/3",  # never the real TMDB
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    return env


@contextlib.contextmanager
def chdir(folder: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


@dataclass
class Invocation:
    """One ``moviedl`` command taken from a document line."""

    argv: list[str]  # after "moviedl"
    stdout_to: str | None = None  # "> FILE"
    may_fail: bool = False  # "cmd || handler": a data-check failure (exit 1) is expected


def split_commands(line: str) -> list[Invocation | list[str]]:
    """A shell line as its simple commands: ``moviedl`` ones as :class:`Invocation`, the rest as
    word lists. Pipes keep only their first command (what is piped into is not moviedl's)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = list(lexer)
    out: list[Invocation | list[str]] = []
    current: list[str] = []
    skip_rest_of_pipe = False
    redirect: str | None = None
    i = 0

    def flush(may_fail: bool = False) -> None:
        nonlocal current, redirect
        if current:
            if current[0] == "moviedl":
                out.append(Invocation(current[1:], redirect, may_fail))
            else:
                out.append(current)
        current, redirect = [], None

    while i < len(words):
        w = words[i]
        if w in ("&&", ";", "||"):
            if not skip_rest_of_pipe:
                flush(may_fail=w == "||")
            skip_rest_of_pipe = False
            current = []
            if w == "||":  # what handles the failure is not a command the docs show working
                break
        elif w == "|":
            flush()
            skip_rest_of_pipe = True
        elif w == ">" and i + 1 < len(words):
            redirect = words[i + 1]
            i += 1
        elif not skip_rest_of_pipe:
            current.append(w)
        i += 1
    if not skip_rest_of_pipe:
        flush()
    return out


def logical_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined, with the index of their first line."""
    buf, first = "", 0
    for i, line in enumerate(lines):
        if not buf:
            first = i
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        yield first, buf + line
        buf = ""
    if buf:
        yield first, buf


def invoke(argv: list[str], env: dict[str, str | None]) -> tuple[int, str, str]:
    """Run ``moviedl argv`` in-process: exit code, stdout and stderr interleaved, stdout."""
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output, result.stdout


# --- output normalization ---------------------------------------------------------------------

RUN_ID = re.compile(r"\b\d{8}T\d{6}Z-[0-9a-f]{6}\b")
# (pattern, replacement) on every output line, after the folder and run ids.
VARYING = [
    (re.compile(r"(dt=\S+, )\d+ day\(s\) old\b"), r"\1N day(s) old"),  # the sample's age today
    (re.compile(r"\bin \d+(?:\.\d+)?\s?m?s\b"), "in …s"),  # "OK in 1.2s"
    (re.compile(r"\[\d+\.\ds\]"), "[…s]"),  # "3 of 6 OK refine [1.2s]"
    (re.compile(r"^\d\d:\d\d:\d\d "), "HH:MM:SS "),  # the time off a terminal starts each stderr line with
]
#: a compact table's header is the line above its rule
RULE = re.compile(r"^─+$")
#: lines that end a compact table
PAST_TABLE = ("note:", "OK", "FAILED", "HH:MM:SS", "checks that", "moviedl ")
# Table columns whose every value varies from run to run.
VARYING_COLUMNS = {"seconds", "started_at", "elapsed", "duration"}
BARS = re.compile(r"([│┃|])")


class Normalizer:
    def __init__(self, folder: Path) -> None:
        self.folders = sorted({str(folder), str(folder.resolve())}, key=len, reverse=True)
        self.run_ids: dict[str, str] = {}
        self.header: list[str] = []
        self._spans: list[tuple[int, int]] = []

    def _run_id(self, m: re.Match[str]) -> str:
        n = self.run_ids.setdefault(m.group(0), str(len(self.run_ids) + 1))
        return f"20240501T1015{int(n):02d}Z-{int(n):06x}"

    def text(self, s: str) -> str:
        for folder in self.folders:
            s = s.replace(folder, DOC_HOME)
        s = RUN_ID.sub(self._run_id, s)
        for pattern, repl in VARYING:
            s = pattern.sub(repl, s)
        return s

    def line(self, line: str) -> str:
        if "┃" in line or ("│" in line and line.lstrip().startswith("│")):
            return self._table_row(line)
        if not line.lstrip().startswith(("┏", "┡", "└", "├", "┌", "┗")):
            self.header = []  # past the table
        return self.text(line)

    def _table_row(self, line: str) -> str:
        parts = BARS.split(line)  # text, bar, text, bar, ...
        cells = parts[2:-1:2]  # between the outer bars
        if "┃" in line:
            self.header = [c.strip() for c in cells]
            return line
        for k, cell in enumerate(cells):
            name = self.header[k] if k < len(self.header) else ""
            varies = name in VARYING_COLUMNS and any(ch.isdigit() for ch in cell)
            new = "…" if varies else self.text(cell)
            if new != cell:
                new = _fit(new.strip(), cell)
            parts[2 + 2 * k] = new
        return "".join(parts)

    def __call__(self, output: str) -> str:
        lines = output.rstrip("\n").split("\n")
        spans: list[tuple[int, int]] = []  # where a compact table's varying columns are
        done = []
        for n, line in enumerate(lines):
            if n + 1 < len(lines) and RULE.match(lines[n + 1].rstrip()):  # a compact table's header
                spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", line) if m.group() in VARYING_COLUMNS]
                done.append(line.rstrip())
                continue
            if not line.strip() or self.text(line).startswith(PAST_TABLE):
                spans = []
            self._spans = spans
            if spans and not RULE.match(line.rstrip()):
                done.append(self._compact_row(line).rstrip())
            else:
                done.append(self.line(line).rstrip())
        return "\n".join(done)

    def _compact_row(self, line: str) -> str:
        """A row of a table without boxes: the varying columns' numbers (right-aligned under
        their header) become ``…``; the rest is normalized as text."""
        varying = []
        for start, end in self.spans_of(line):
            varying.append((start, end))
        out, at = [], 0
        for start, end in varying:
            out += [self.text(line[at:start]), "…".rjust(end - start)]
            at = end
        return "".join(out) + self.text(line[at:])

    def spans_of(self, line: str) -> list[tuple[int, int]]:
        """The number tokens of ``line`` that end where a varying column's header ends."""
        return [(m.start(), m.end()) for m in re.finditer(r"\d[\d.,]*", line)
                if any(m.end() == end for _, end in self._spans)]


def _fit(content: str, cell: str) -> str:
    """``content`` padded to the width of ``cell``, aligned like the cell's own content."""
    width = len(cell)
    if len(content) + 2 > width:
        return f" {content} "
    right = len(cell) - len(cell.lstrip()) > 1
    return (" " + (content.rjust(width - 2) if right else content.ljust(width - 2)) + " ")


# --- regeneration -----------------------------------------------------------------------------


def regenerate(text: str) -> str:
    """``text`` with the output of every generated block replaced by what moviedl prints now."""
    doc_blocks = [b for b in blocks(text) if b.generated]
    if not doc_blocks:
        return text
    lines = text.split("\n")
    env = clean_environ()
    with tempfile.TemporaryDirectory(prefix="moviedl-docs-") as tmp:
        folder = Path(tmp)
        prepare_folder(folder)
        normalize = Normalizer(folder)
        with chdir(folder):
            rendered = [_render(block, env, normalize) for block in doc_blocks]
    for block, new in reversed(list(zip(doc_blocks, rendered, strict=True))):
        lines[block.start + 1 : block.end] = new
    return "\n".join(lines)


def _render(block: Block, env: dict[str, str | None], normalize: Normalizer) -> list[str]:
    out: list[str] = []
    for line in block.lines:
        if not line.startswith("$ "):
            continue
        out.append(line)
        (command,) = split_commands(line[2:])
        if not isinstance(command, Invocation):
            raise SystemExit(f"a generated block runs only moviedl commands, not: {line}")
        _code, output, _stdout = invoke(command.argv, env)
        if output.strip():
            out.append(normalize(output))
    return out


def main() -> None:
    changed = 0
    for path in documents():
        text = path.read_text("utf-8")
        new = regenerate(text)
        if new != text:
            path.write_text(new, "utf-8")
            changed += 1
            print(f"rewrote {path.relative_to(ROOT)}")
    print(f"{changed} document(s) changed")


if __name__ == "__main__":
    sys.exit(main())
