"""Streaming checks of a source CSV: encoding, header, delimiter, column count, row count.

:class:`CsvInspector` is fed the file's bytes in chunks (any size) and never holds more than one
chunk, so memory stays flat whatever the file size. The hot path works on whole chunks in C
(``bytes.translate`` / ``bytes.count`` / ``bytes.decode``) and falls back to a line-by-line scan
only for a chunk that holds a problem, to name its line numbers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from moviedl.sources import DELIMITER, KINDS, SourceKind

MAX_LINES_REPORTED = 5
_BOM = b"\xef\xbb\xbf"
# Everything but "|" and "\n": deleting these leaves one "|" per separator and one "\n" per line.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in (ord("|"), ord("\n")))


@dataclass
class CsvReport:
    """What the inspector found. ``problems`` empty means the file may be ingested."""

    name: str
    kind: SourceKind | None = None
    rows: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ragged_rows: int = 0
    ragged_lines: list[int] = field(default_factory=list)
    bad_utf8_rows: int = 0
    bad_utf8_lines: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def header_problem(name: str, line: str) -> str:
    """Explain why ``line`` is not one of the SPEC headers, naming the columns that differ."""
    if DELIMITER not in line:
        for char, label in ((",", "comma"), ("\t", "tab"), (";", "semicolon")):
            if line.count(char) >= 4:
                return (
                    f"{name} line 1: the header looks {label}-delimited; moviedl expects "
                    f"'|'-delimited files (IMDb-derived movies.csv / series.csv)"
                )
    columns = line.split(DELIMITER)
    best = max(KINDS, key=lambda kind: len(set(kind.columns) & set(columns)))
    missing = [c for c in best.columns if c not in columns]
    unexpected = [c for c in columns if c not in best.columns]
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if unexpected:
        parts.append(f"unexpected {', '.join(repr(c) for c in unexpected)}")
    if not parts:
        for position, (got, want) in enumerate(zip(columns, best.columns, strict=False), 1):
            if got != want:
                parts.append(f"column {position} is {got!r}, expected {want!r} (columns out of order)")
                break
        else:
            parts.append(f"{len(columns)} columns, expected {len(best.columns)}")
    return (
        f"{name} line 1: header is not a {best.file_name} header: {'; '.join(parts)}. "
        f"Expected: {best.header}"
    )


def _is_utf8(data: bytes, start: int, end: int) -> bool:
    """Is ``data[start:end]`` UTF-8? Arrow validates in place, ~10x faster than ``decode()``."""
    import pyarrow as pa

    offsets = pa.py_buffer(struct.pack("<ii", 0, end - start))
    try:
        buffer = pa.py_buffer(data).slice(start, end - start)
        pa.StringArray.from_buffers(1, offsets, buffer).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


class CsvInspector:
    """Feed chunks with :meth:`feed`, then call :meth:`finish` for the :class:`CsvReport`."""

    def __init__(self, name: str) -> None:
        self.report = CsvReport(name)
        self._carry = b""
        self._line_no = 0  # lines fully processed so far (header included)
        self._header_done = False
        self._stopped = False
        self._pattern = b""
        self._saw_cr = False

    # -- public ----------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        self.report.bytes += len(chunk)
        if self._stopped or not chunk:
            return
        if not self._header_done:
            chunk = self._carry + chunk
            self._carry = b""
            end = chunk.find(b"\n") + 1
            if not end:
                self._carry = chunk
                return
            self._header(chunk[:end])
            chunk = chunk[end:]
            if self._stopped or not chunk:
                return
        cut = chunk.rfind(b"\n")
        if cut < 0:
            self._carry += chunk
            return
        start = 0
        if self._carry:  # finish the line split across chunks on its own (a small copy)
            start = chunk.index(b"\n") + 1
            self._block(self._carry + chunk[:start])
        if start <= cut:
            self._block(chunk, start, cut + 1)
        self._carry = chunk[cut + 1 :]

    def finish(self) -> CsvReport:
        report = self.report
        if report.bytes == 0:
            report.problems.append(f"{report.name}: the file is empty")
            return report
        if not self._stopped and self._carry:
            last = self._carry
            self._carry = b""
            if not self._header_done:
                self._header(last)
            else:
                report.notes.append("the last line has no line break")
                self._block(last + b"\n", truncated=True)
        if not self._stopped and report.rows == 0:
            report.problems.append(f"{report.name}: has a header but no data rows")
        if report.ragged_rows:
            lines = ", ".join(map(str, report.ragged_lines))
            more = " ..." if report.ragged_rows > len(report.ragged_lines) else ""
            expected = len(report.kind.columns) if report.kind else "?"
            report.problems.append(
                f"{report.name}: {report.ragged_rows} row(s) do not have {expected} fields "
                f"(lines {lines}{more})"
            )
        if report.bad_utf8_rows > 1:
            report.problems.append(
                f"{report.name}: {report.bad_utf8_rows} lines are not UTF-8 "
                f"(lines {', '.join(map(str, report.bad_utf8_lines))}"
                f"{' ...' if report.bad_utf8_rows > len(report.bad_utf8_lines) else ''})"
            )
        if self._saw_cr:
            report.notes.append("uses CRLF line endings")
        return report

    # -- internals -------------------------------------------------------------------------

    def _header(self, raw: bytes) -> None:
        self._line_no = 1
        self._header_done = True
        text_bytes = raw[len(_BOM) :] if raw.startswith(_BOM) else raw
        if raw.startswith(_BOM):
            self.report.notes.append("starts with a UTF-8 byte-order mark")
        try:
            line = text_bytes.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            self._stop(f"{self.report.name} line 1: not UTF-8 (byte {exc.start + 1} of the header)")
            return
        kind = next((k for k in KINDS if line == k.header), None)
        if kind is None:
            self._stop(header_problem(self.report.name, line))
            return
        self.report.kind = kind
        self._pattern = DELIMITER.encode() * (len(kind.columns) - 1) + b"\n"

    def _stop(self, problem: str) -> None:
        self.report.problems.append(problem)
        self._stopped = True

    def _block(self, data: bytes, start: int = 0, end: int | None = None, truncated: bool = False) -> None:
        """Check the complete lines ``data[start:end]`` (after the header) without copying them.

        ``start`` is 0 or just after ``data``'s first line break, ``end`` just after its last.
        """
        end = len(data) if end is None else end
        structure = data.translate(None, _NOT_STRUCTURE)  # ~1/10 of the data: slice and count here
        first = structure.index(b"\n") + 1 if start else 0
        structure = structure[first : structure.rindex(b"\n") + 1]
        lines = structure.count(b"\n")
        first_line = self._line_no + 1
        if structure != self._pattern * lines:
            self._find_ragged(data[start:end], first_line, truncated)
        if not data.isascii() and not _is_utf8(data, start, end):
            self._find_bad_utf8(data[start:end], first_line)
        if not self._saw_cr and b"\r" in data:
            self._saw_cr = True
        self.report.rows += lines
        self._line_no += lines

    def _find_ragged(self, block: bytes, first_line: int, truncated: bool) -> None:
        expected = len(self._pattern) - 1
        report = self.report
        for offset, line in enumerate(block.split(b"\n")[:-1]):
            if line.count(b"|") != expected:
                report.ragged_rows += 1
                if len(report.ragged_lines) < MAX_LINES_REPORTED:
                    report.ragged_lines.append(first_line + offset)
                if truncated:
                    report.notes.append("the last line is incomplete: the file may be truncated")

    def _find_bad_utf8(self, block: bytes, first_line: int) -> None:
        report = self.report
        for offset, line in enumerate(block.split(b"\n")[:-1]):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                if not report.bad_utf8_rows:
                    report.problems.append(
                        f"{report.name} line {first_line + offset}: not UTF-8 "
                        f"(byte {exc.start + 1} of the line is {line[exc.start:exc.start + 1]!r}); "
                        "re-save the file as UTF-8"
                    )
                report.bad_utf8_rows += 1
                if len(report.bad_utf8_lines) < MAX_LINES_REPORTED:
                    report.bad_utf8_lines.append(first_line + offset)
