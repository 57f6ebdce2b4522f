"""Streaming checks of a source CSV: encoding, header, delimiter, column count, row count, and
the length of its longest line.

:class:`CsvInspector` is fed the file's bytes in chunks (any size) and never holds more than one
chunk (plus, for a line that spans chunks, that line: at most :data:`MAX_LINE_BYTES`), so memory
stays flat whatever the file size. The hot path works on whole chunks in C (``bytes.translate`` /
``bytes.count`` / ``bytes.decode``, Arrow) and falls back to a line-by-line scan only for a chunk
that holds a problem, to name its line numbers.

The longest line is recorded in the Raw manifest because readers need it: DuckDB's ``read_csv``
refuses a line longer than its ``max_line_size`` (2 MB by default), so ``refine`` sizes it from
the manifest (or from :func:`longest_line` for a file that has none). Whatever ingest-csv
stores, refine must read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING

from moviedl.core.sources import DELIMITER, KINDS, SourceKind

if TYPE_CHECKING:
    import pyarrow as pa

MAX_LINES_REPORTED = 5
# The longest line (bytes, newline excluded) ingest-csv accepts. A real movies.csv line is a few
# hundred bytes; the cap is there so that a runaway field (a broken export, a binary file with
# no line breaks) is refused at the door rather than stored where every reader must hold it:
# ingest-csv holds a line that spans chunks in memory, and DuckDB needs ~2x the line to read it
# (measured: a 300 MB line, 0.5 s and 0.6 GB RSS), within refine's default 768 MB
# memory_limit. 256 MiB is also far from the 2 GiB that would overflow 32-bit string offsets.
MAX_LINE_BYTES = 256 << 20
_SPLIT_BYTES = 1 << 20  # LineMeter's unit of work: Arrow copies this much at a time
_READ_CHUNK = 8 << 20  # as moviedl.storage.files.CHUNK_SIZE (not imported: csvcheck stays dependency-free)
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
    nul_rows: int = 0  # lines holding a NUL byte (\x00)
    nul_lines: list[int] = field(default_factory=list)
    nul_field: str = ""  # where the first one is: "field 3 (tituloOriginal)"
    longest_line: int = 0  # bytes of the longest line (header included), its newline excluded
    longest_line_no: int = 0  # its line number (the first such line); 0 for an empty file

    @property
    def ok(self) -> bool:
        return not self.problems


#: Delimiters a header is sometimes exported with by mistake, and what they are called.
_OTHER_DELIMITERS = ((",", "comma"), (";", "semicolon"), ("\t", "tab"))
_KNOWN_COLUMNS = frozenset(c for kind in KINDS for c in kind.columns)
#: Where a user reads what the header must be (the message also spells it out).
HEADER_DOC = "docs/data-model.md"


def _bare(column: str) -> str:
    """A header name as written, without padding or the quotes a spreadsheet export adds."""
    return column.strip().strip('"').strip("'").strip()


def header_problem(name: str, line: str) -> str:
    """Explain why ``line`` is not the movies.csv or series.csv header: a wrong delimiter (a
    header that splits into known names on ',', ';' or a tab), quoted names, and the columns
    that are missing, unexpected or out of order, judged on the header as split by the
    delimiter it actually uses, so a column that is there is never called missing."""
    where = f"{name} line 1: "
    if "\x00" in line:
        return (
            f"{where}the header holds NUL bytes (\\x00): the file is not UTF-8 text (UTF-16?); "
            "re-save it as UTF-8"
        )
    columns = line.split(DELIMITER)
    found = ""
    if DELIMITER not in line:
        candidates = [(sum(_bare(c) in _KNOWN_COLUMNS for c in line.split(char)), line.count(char), char, label)
                      for char, label in _OTHER_DELIMITERS if char in line]
        if candidates:
            known, count, char, label = max(candidates)
            if known or count >= 4:
                columns = line.split(char)
                found = f"the header uses {char!r} as delimiter ({label}-delimited); moviedl expects '|'"
    bare = [_bare(c) for c in columns]
    best = max(KINDS, key=lambda kind: len(set(kind.columns) & set(bare)))
    expected = f"Expected the {best.file_name} header (see {HEADER_DOC}): {best.header}"
    if found and bare == list(best.columns):
        return f"{where}{found}; its columns are those of {best.file_name}: re-export it with '|'. {expected}"
    parts = []
    if bare != columns and set(bare) & set(best.columns):
        shown = next(c for c, b in zip(columns, bare, strict=True) if c != b)
        parts.append(f"column names are quoted or padded (e.g. {shown!r}); moviedl reads them bare")
    parts.extend(_column_differences(bare, best))
    if found:
        return f"{where}{found}; split on it, {'; '.join(parts)}. {expected}"
    return f"{where}the header is not a {best.file_name} header: {'; '.join(parts)}. {expected}"


def _column_differences(columns: list[str], kind: SourceKind) -> list[str]:
    """How the header ``columns`` differ from ``kind``'s, each difference once."""
    if not any(columns):
        return ["the header line is empty"]
    if not set(columns) & _KNOWN_COLUMNS:
        return [f"none of its {len(columns)} column(s) is a movies.csv or series.csv column"]
    parts = []
    missing = [c for c in kind.columns if c not in columns]
    unexpected = [c for c in columns if c not in kind.columns]
    repeated = list(dict.fromkeys(c for c in columns if columns.count(c) > 1))
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if unexpected:
        lower = {c.lower(): c for c in kind.columns}
        parts.append("unexpected " + ", ".join(
            f"{c!r} (expected {lower[c.lower()]!r})" if c.lower() in lower else repr(c) for c in unexpected
        ))
    if repeated:
        parts.append(f"repeated {', '.join(map(repr, repeated))}")
    if not parts:
        for position, (got, want) in enumerate(zip(columns, kind.columns, strict=False), 1):
            if got != want:
                parts.append(f"column {position} is {got!r}, expected {want!r} (columns out of order)")
                break
    return parts


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


class LineMeter:
    """Measures the longest line of a byte stream fed in chunks of any size, in flat memory.

    A line's length is its bytes up to its line break, which is excluded (a CRLF line's carriage
    return counts: more room for DuckDB, never less); a last line without a line break counts
    too; the header is a line like any other. Arrow splits each chunk in C (~2.5 GB/s), so the
    cost is a fraction of the other checks.
    """

    def __init__(self) -> None:
        self.longest = 0  # bytes of the longest complete line so far
        self.longest_no = 0  # its line number (1-based; the first line of that length)
        self.lines = 0  # complete lines so far
        self.partial = 0  # bytes of the line in progress

    def feed(self, chunk: bytes) -> None:
        if b"\n" not in chunk:
            self.partial += len(chunk)
            return
        import pyarrow as pa

        data = pa.py_buffer(chunk)  # zero-copy; split a slice at a time to keep Arrow's copy small
        for start in range(0, len(chunk), _SPLIT_BYTES):
            self._split(data, start, min(start + _SPLIT_BYTES, len(chunk)))

    def _split(self, data: pa.Buffer, start: int, end: int) -> None:
        """Measure the lines of ``data[start:end]`` (the Arrow buffer of a chunk)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        offsets = pa.py_buffer(struct.pack("<qq", start, end))
        piece = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, data])
        lengths = pc.binary_length(pc.list_flatten(pc.split_pattern(piece, "\n")))
        breaks = len(lengths) - 1
        if not breaks:
            self.partial += end - start
            return
        self._saw(self.partial + lengths[0].as_py(), self.lines + 1)
        if breaks > 1:
            inner = lengths.slice(1, breaks - 1)  # the lines that start and end in this slice
            most = pc.max(inner).as_py()
            if most > self.longest:  # rare: look for its line number only then
                self._saw(most, self.lines + 2 + pc.index(inner, most).as_py())
        self.lines += breaks
        self.partial = lengths[breaks].as_py()

    def finish(self) -> LineMeter:
        """Count a last line that has no line break; returns ``self``."""
        if self.partial:
            self._saw(self.partial, self.lines + 1)
            self.lines += 1
            self.partial = 0
        return self

    def _saw(self, length: int, line_no: int) -> None:
        if length > self.longest or not self.longest_no:
            self.longest, self.longest_no = length, line_no


def longest_line(path: str | PathLike[str]) -> int:
    """Bytes of the longest line of the file at ``path`` (newline excluded), read in chunks.

    The value ``ingest-csv`` records as ``longest_line`` in the Raw manifest, for a file that has
    no manifest (a lake written by an older version, or by another tool). 0 for an empty file.
    """
    meter = LineMeter()
    with open(path, "rb") as stream:
        while chunk := stream.read(_READ_CHUNK):
            meter.feed(chunk)
    return meter.finish().longest


class CsvInspector:
    """Feed chunks with :meth:`feed`, then call :meth:`finish` for the :class:`CsvReport`.

    ``max_line_bytes`` (default :data:`MAX_LINE_BYTES`) is the longest line accepted: a longer
    one is a problem, found as soon as the line passes the limit (so that no more of it is held).
    """

    def __init__(self, name: str, max_line_bytes: int | None = None) -> None:
        self.report = CsvReport(name)
        self._pending: list[bytes] = []  # the start of a line that continues in the next chunk
        self._line_no = 0  # lines fully processed so far (header included)
        self._header_done = False
        self._stopped = False
        self._pattern = b""
        self._saw_cr = False
        self._meter = LineMeter()
        self._max_line = MAX_LINE_BYTES if max_line_bytes is None else max_line_bytes
        self._too_long_at: int | None = None  # index in report.problems of the long-line problem

    # -- public ----------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        self.report.bytes += len(chunk)
        if not chunk:
            return
        self._meter.feed(chunk)  # even once stopped: the problem gives the exact line length
        if self._stopped:
            return
        if max(self._meter.longest, self._meter.partial) > self._max_line:
            self._pending = []
            self._too_long_at = len(self.report.problems)
            self._stop(f"{self.report.name}: a line is longer than {self._max_line:,} bytes")
            return
        if not self._header_done:
            end = chunk.find(b"\n") + 1
            if not end:
                self._pending.append(chunk)
                return
            self._header(b"".join([*self._pending, chunk[:end]]))
            self._pending = []
            chunk = chunk[end:]
            if self._stopped or not chunk:
                return
        cut = chunk.rfind(b"\n")
        if cut < 0:
            self._pending.append(chunk)
            return
        start = 0
        if self._pending:  # finish the line split across chunks on its own (one copy of it)
            start = chunk.index(b"\n") + 1
            self._block(b"".join([*self._pending, chunk[:start]]))
            self._pending = []
        if start <= cut:
            self._block(chunk, start, cut + 1)
        if cut + 1 < len(chunk):
            self._pending.append(chunk[cut + 1 :])

    def finish(self) -> CsvReport:
        report = self.report
        meter = self._meter.finish()
        report.longest_line, report.longest_line_no = meter.longest, meter.longest_no
        if self._too_long_at is not None:
            report.problems[self._too_long_at] = (
                f"{report.name} line {meter.longest_no}: the line is {meter.longest:,} bytes long, "
                f"over the limit of {self._max_line:,} bytes per line; a movies/series line is a "
                "few hundred bytes: is a line break missing, or is this not a text CSV?"
            )
        if report.bytes == 0:
            report.problems.append(f"{report.name}: the file is empty")
            return report
        if not self._stopped and self._pending:
            last = b"".join(self._pending)
            self._pending = []
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
        if report.nul_rows:
            lines = ", ".join(map(str, report.nul_lines))
            more = " ..." if report.nul_rows > len(report.nul_lines) else ""
            count = f"; {report.nul_rows} lines hold one (lines {lines}{more})" if report.nul_rows > 1 else ""
            report.problems.append(
                f"{report.name} line {report.nul_lines[0]}: {report.nul_field} holds a NUL byte (\\x00)"
                f"{count}. A text CSV never contains one: the file is damaged, or not UTF-8 text "
                "(UTF-16?). Re-export it as UTF-8, or remove the NUL bytes (tr -d '\\000' < in.csv > out.csv)"
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
        if data.find(b"\x00", start, end) >= 0:  # memchr: a few ms per 100 MB
            self._find_nul(data[start:end], first_line)
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

    def _find_nul(self, block: bytes, first_line: int) -> None:
        """Count the lines of ``block`` (complete lines) that hold a NUL byte; the first one's field."""
        report = self.report
        line_no, counted = first_line, 0
        at = block.find(b"\x00")
        while at >= 0:
            line_start = block.rfind(b"\n", 0, at) + 1
            line_no += block.count(b"\n", counted, line_start)
            counted = line_start
            if not report.nul_rows:
                position = block.count(DELIMITER.encode(), line_start, at) + 1
                columns = report.kind.columns if report.kind else ()
                label = f" ({columns[position - 1]})" if position <= len(columns) else ""
                report.nul_field = f"field {position}{label}"
            report.nul_rows += 1
            if len(report.nul_lines) < MAX_LINES_REPORTED:
                report.nul_lines.append(line_no)
            line_end = block.find(b"\n", at)
            at = block.find(b"\x00", line_end) if line_end >= 0 else -1
