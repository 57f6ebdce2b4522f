"""The streaming CSV checks behind ``ingest-csv`` (and later ``validate``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviedl.checks import csv_file as csvcheck
from moviedl.checks.csv_file import MAX_LINE_BYTES, CsvInspector, LineMeter, longest_line
from moviedl.core.sources import MOVIES, SERIES

GOOD_ROW = "tt0111161|Um Sonho de Liberdade|The Shawshank Redemption|1994|142|Drama|9.3|2900000|M|Andy Dufresne|Tim Robbins|1958|\\N|actor,director|tt0111161"


def inspect(data: bytes, chunk_size: int | None = None, name: str = "movies.csv", max_line: int | None = None):
    inspector = CsvInspector(name, max_line)
    step = chunk_size or max(len(data), 1)
    for start in range(0, len(data), step):
        inspector.feed(data[start : start + step])
    return inspector.finish()


def movies(*rows: str) -> bytes:
    return ("\n".join([MOVIES.header, *rows]) + "\n").encode()


def test_bundled_samples_pass_with_their_kind_and_row_count(movies_csv: Path, series_csv: Path) -> None:
    for path, kind in ((movies_csv, MOVIES), (series_csv, SERIES)):
        data = path.read_bytes()
        report = inspect(data, name=path.name)
        assert report.ok, report.problems
        assert report.kind is kind
        assert report.rows == data.count(b"\n") - 1


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 64, 1000])
def test_chunk_boundaries_do_not_change_the_verdict(chunk_size: int) -> None:
    data = movies(GOOD_ROW, GOOD_ROW.replace("|tt0111161", "", 1), "tt1|é|ü|2000|90|\\N|\\N|\\N|F|\\N|Zoë|\\N|\\N|actress|tt1")
    whole = inspect(data)
    pieces = inspect(data, chunk_size)
    assert (pieces.rows, pieces.ragged_rows, pieces.ragged_lines, pieces.problems) == (
        whole.rows, whole.ragged_rows, whole.ragged_lines, whole.problems
    ) == (3, 1, [3], whole.problems)


def test_ragged_rows_are_counted_with_their_line_numbers() -> None:
    extra = GOOD_ROW + "|surplus"
    short = GOOD_ROW.rsplit("|", 2)[0]
    report = inspect(movies(GOOD_ROW, extra, GOOD_ROW, short, *[extra] * 6))
    assert report.ragged_rows == 8
    assert report.ragged_lines == [3, 5, 6, 7, 8]
    assert report.problems == ["movies.csv: 8 row(s) do not have 15 fields (lines 3, 5, 6, 7, 8 ...)"]


def test_a_blank_line_is_a_ragged_row() -> None:
    report = inspect(movies(GOOD_ROW, "", GOOD_ROW))
    assert report.ragged_lines == [3]


def test_comma_delimited_file_is_named_as_such() -> None:
    data = (MOVIES.header.replace("|", ",") + "\n" + GOOD_ROW.replace("|", ",") + "\n").encode()
    report = inspect(data)
    assert not report.ok
    assert "comma-delimited" in report.problems[0]
    assert report.problems[0].startswith("movies.csv line 1:")


def test_tab_delimited_file_is_named_as_such() -> None:
    data = (SERIES.header.replace("|", "\t") + "\n").encode()
    assert "tab-delimited" in inspect(data).problems[0]


def test_wrong_header_names_missing_and_unexpected_columns() -> None:
    header = MOVIES.header.replace("notaMedia", "rating").replace("|profissao", "")
    report = inspect((header + "\n" + GOOD_ROW + "\n").encode())
    (problem,) = report.problems
    assert "missing notaMedia, profissao" in problem
    assert "unexpected 'rating'" in problem
    assert "movies.csv header" in problem


def test_reordered_header_names_the_first_column_out_of_place() -> None:
    columns = list(MOVIES.columns)
    columns[1], columns[2] = columns[2], columns[1]
    (problem,) = inspect(("|".join(columns) + "\n" + GOOD_ROW + "\n").encode()).problems
    assert "column 2 is 'tituloOriginal', expected 'tituloPincipal'" in problem


def test_series_header_is_recognised_and_its_rows_need_16_fields() -> None:
    row16 = GOOD_ROW.replace("|1994|", "|1994|\\N|", 1)
    report = inspect(("\n".join([SERIES.header, row16, GOOD_ROW]) + "\n").encode(), name="series.csv")
    assert report.kind is SERIES
    assert report.problems == ["series.csv: 1 row(s) do not have 16 fields (lines 3)"]


def test_empty_file() -> None:
    assert inspect(b"").problems == ["movies.csv: the file is empty"]


def test_header_without_rows() -> None:
    assert inspect((MOVIES.header + "\n").encode()).problems == ["movies.csv: has a header but no data rows"]


def test_bad_utf8_names_the_line() -> None:
    latin1 = "tt2|Cidade de Deus|Cidade de Deus|2002|130|Crime|8.6|800000|M|Dadinho|Leandro Firmino|1978|\\N|ator|tt2".encode("latin-1")
    latin1 = latin1.replace(b"ator", "ação".encode("latin-1"))
    data = movies(GOOD_ROW, GOOD_ROW) + latin1 + b"\n"
    report = inspect(data)
    assert report.rows == 3
    (problem,) = report.problems
    assert problem.startswith("movies.csv line 4: not UTF-8")
    assert "re-save the file as UTF-8" in problem


def test_truncated_last_line_is_reported() -> None:
    data = movies(GOOD_ROW) + GOOD_ROW[:40].encode()
    report = inspect(data, 16)
    assert report.ragged_lines == [3]
    assert any("truncated" in note for note in report.notes)


def test_missing_final_newline_on_a_complete_row_is_accepted() -> None:
    report = inspect(movies(GOOD_ROW).rstrip(b"\n"))
    assert report.ok and report.rows == 1
    assert "the last line has no line break" in report.notes


def test_crlf_and_bom_are_accepted_with_a_note() -> None:
    data = b"\xef\xbb\xbf" + movies(GOOD_ROW, GOOD_ROW).replace(b"\n", b"\r\n")
    report = inspect(data, 5)
    assert report.ok and report.rows == 2
    assert set(report.notes) == {"uses CRLF line endings", "starts with a UTF-8 byte-order mark"}


def test_a_quote_or_comma_inside_a_title_is_data() -> None:
    row = GOOD_ROW.replace("Um Sonho de Liberdade", '"Crocodile" Dundee, the movie')
    assert inspect(movies(row)).ok


# --- the longest line: measured for the manifest (refine sizes DuckDB's reader by it) ---------


def split_longest(data: bytes) -> tuple[int, int]:
    """The reference: (length, line number) of the first longest line, newline excluded."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    lengths = [len(line) for line in lines] or [0]
    return max(lengths), (lengths.index(max(lengths)) + 1 if lines else 0)


def test_longest_line_is_measured_with_its_line_number(movies_csv: Path) -> None:
    data = movies_csv.read_bytes()
    report = inspect(data)
    assert (report.longest_line, report.longest_line_no) == split_longest(data)
    long_row = GOOD_ROW.replace("Andy Dufresne", "x" * 5000)
    report = inspect(movies(GOOD_ROW, long_row, GOOD_ROW, long_row))
    assert (report.longest_line, report.longest_line_no) == (len(long_row), 3)


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 64, 1000])
@pytest.mark.parametrize("split_bytes", [3, 1 << 20])
def test_chunk_and_slice_boundaries_do_not_change_the_longest_line(
    chunk_size: int, split_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvcheck, "_SPLIT_BYTES", split_bytes)
    rows = [GOOD_ROW, GOOD_ROW.replace("Andy", "Andy " * 40), "", GOOD_ROW[:10], GOOD_ROW.replace("Andy", "Andy " * 40)]
    for data in (movies(*rows), movies(*rows).rstrip(b"\n") + b"|tail " * 30, movies(*rows).replace(b"\n", b"\r\n")):
        meter = LineMeter()
        for start in range(0, len(data), chunk_size):
            meter.feed(data[start : start + chunk_size])
        meter.finish()
        assert (meter.longest, meter.longest_no) == split_longest(data)
        report = inspect(data, chunk_size)
        assert (report.longest_line, report.longest_line_no) == split_longest(data)


def test_longest_line_counts_a_last_line_without_a_line_break_and_the_header() -> None:
    assert inspect(movies(GOOD_ROW).rstrip(b"\n") + b"x" * 1000).longest_line == len(GOOD_ROW) + 1000
    assert inspect(movies(GOOD_ROW[:5])).longest_line == len(MOVIES.header)
    assert inspect(b"").longest_line == 0


def test_longest_line_of_a_file_equals_the_inspector_value(tmp_path: Path, movies_csv: Path) -> None:
    path = tmp_path / "movies.csv"
    path.write_bytes(movies(GOOD_ROW, GOOD_ROW.replace("Andy", "a" * 9_000_000), GOOD_ROW))
    assert longest_line(path) == inspect(path.read_bytes(), 1 << 20).longest_line == len(GOOD_ROW) + 8_999_996
    assert longest_line(movies_csv) == inspect(movies_csv.read_bytes()).longest_line
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert longest_line(empty) == 0


def test_the_cap_is_256_mib() -> None:
    assert MAX_LINE_BYTES == 256 * 1024 * 1024


@pytest.mark.parametrize("chunk_size", [None, 7, 100])
def test_a_line_over_the_cap_is_a_problem_naming_the_line_and_its_size(chunk_size: int | None) -> None:
    long_row = GOOD_ROW.replace("Andy", "a" * 1000)
    report = inspect(movies(GOOD_ROW, GOOD_ROW, long_row, GOOD_ROW), chunk_size, max_line=1000)
    (problem,) = report.problems
    assert problem.startswith(f"movies.csv line 4: the line is {len(long_row):,} bytes long")
    assert "over the limit of 1,000 bytes per line" in problem
    assert report.longest_line == len(long_row)
    at_the_cap = inspect(movies(GOOD_ROW, long_row), chunk_size, max_line=len(long_row))
    assert at_the_cap.ok, at_the_cap.problems


def test_a_file_with_no_line_break_is_refused_once_past_the_cap_without_holding_it() -> None:
    inspector = CsvInspector("movies.csv", 1000)
    for _ in range(50):
        inspector.feed(b"\x00" * 100)
    assert inspector.report.problems  # known as soon as the line passed the cap, for ingest-csv
    assert inspector._pending == []  # nothing of the runaway line is kept in memory
    report = inspector.finish()
    assert report.problems == [
        "movies.csv line 1: the line is 5,000 bytes long, over the limit of 1,000 bytes per line; "
        "a movies/series line is a few hundred bytes: is a line break missing, or is this not a text CSV?"
    ]


# --- NUL bytes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [None, 1, 7, 64, 1000])
def test_a_nul_byte_in_a_field_is_refused_naming_line_field_and_remedy(chunk_size: int | None) -> None:
    nul = GOOD_ROW.replace("Shawshank", "Shaw\x00shank")
    report = inspect(movies(GOOD_ROW, nul, GOOD_ROW, nul.replace("Shaw", "S\x00haw")), chunk_size)
    (problem,) = report.problems
    assert problem.startswith("movies.csv line 3: field 3 (tituloOriginal) holds a NUL byte (\\x00); ")
    assert "2 lines hold one (lines 3, 5)" in problem
    assert "Re-export it as UTF-8, or remove the NUL bytes (tr -d '\\000' < in.csv > out.csv)" in problem
    assert report.rows == 4 and report.nul_rows == 2


def test_nul_bytes_on_many_lines_list_the_first_five() -> None:
    nul = GOOD_ROW.replace("|actor,director|", "|act\x00or|")
    (problem,) = inspect(movies(*[GOOD_ROW, nul] * 7)).problems
    assert problem.startswith("movies.csv line 3: field 14 (profissao) holds a NUL byte")
    assert "7 lines hold one (lines 3, 5, 7, 9, 11 ...)" in problem


def test_a_nul_byte_in_a_series_file_and_in_a_last_line_without_a_line_break() -> None:
    row16 = GOOD_ROW.replace("|1994|", "|1994|\\N|", 1)
    data = ("\n".join([SERIES.header, row16, row16.replace("Tim", "T\x00im")])).encode()
    (problem,) = inspect(data, 5, name="series.csv").problems
    assert problem.startswith("series.csv line 3: field 12 (nomeArtista) holds a NUL byte")


def test_a_utf16_file_without_byte_order_mark_is_named_by_its_nul_bytes() -> None:
    data = movies(GOOD_ROW).decode().encode("utf-16-le")
    (problem,) = inspect(data).problems
    assert problem.startswith("movies.csv line 1: the header holds NUL bytes")
    assert "UTF-16" in problem and "re-save it as UTF-8" in problem


def test_the_nul_check_streams_in_flat_memory(tmp_path: Path) -> None:
    """A 64 MB file fed in 1 MB chunks, a NUL near its end: found, with its line number,
    while the inspector never holds more than about a chunk."""
    import tracemalloc

    path = tmp_path / "movies.csv"
    rows = 64 * 1024 * 1024 // (len(GOOD_ROW) + 1)
    with open(path, "wb") as out:
        out.write(MOVIES.header.encode() + b"\n")
        out.write(((GOOD_ROW + "\n") * (rows - 1)).encode())
        out.write(GOOD_ROW.replace("Drama", "Dr\x00ama").encode() + b"\n")
    inspector = CsvInspector("movies.csv")
    tracemalloc.start()
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            inspector.feed(chunk)
            del chunk
    report = inspector.finish()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.problems[0].startswith(f"movies.csv line {rows + 1}: field 6 (genero) holds a NUL byte")
    assert peak < 8 << 20, f"peak {peak:,} bytes"


# --- the header: what is wrong with it, judged on the delimiter it really uses ------------------


def test_a_three_column_comma_header_names_its_delimiter_and_never_a_present_column_as_missing() -> None:
    data = b"id,tituloPincipal,anoLancamento\ntt0000009,Miss Jerry,1894\n"
    (problem,) = inspect(data).problems
    assert problem.startswith("movies.csv line 1: the header uses ',' as delimiter (comma-delimited); moviedl expects '|'")
    assert "missing tituloOriginal, tempoMinutos, genero" in problem
    for present in ("id", "tituloPincipal", "anoLancamento"):
        assert f"missing {present}" not in problem and f", {present}," not in problem.split("Expected")[0]
    assert f"Expected the movies.csv header (see docs/data-model.md): {MOVIES.header}" in problem
    assert "SPEC" not in problem


# Rows as the challenge files have them (generoArtista actor/actress), exported with ';'.
ACTOR_ROWS = [
    "tt0000009|Miss Jerry|Miss Jerry|1894|45|Romance|5.3|207|actress|Miss Geraldine Holbrook (Miss Jerry)|Blanche Bayliss|1878|1951|actress|tt0000009",
    "tt0000009|Miss Jerry|Miss Jerry|1894|45|Romance|5.3|207|actor|Mr. Hamilton|William Courtenay|1875|1933|actor|tt0000009",
]


@pytest.mark.parametrize(("char", "label"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_a_whole_header_with_another_delimiter_says_to_re_export_with_a_pipe(char: str, label: str) -> None:
    data = ("\n".join(line.replace("|", char) for line in [MOVIES.header, *ACTOR_ROWS]) + "\n").encode()
    (problem,) = inspect(data).problems
    assert problem == (
        f"movies.csv line 1: the header uses {char!r} as delimiter ({label}-delimited); moviedl expects '|'; "
        f"its columns are those of movies.csv: re-export it with '|'. "
        f"Expected the movies.csv header (see docs/data-model.md): {MOVIES.header}"
    )


def test_a_series_header_with_a_semicolon_is_judged_as_a_series_header() -> None:
    header = SERIES.header.replace("|", ";").replace("tempoMinutos", "duracao")
    (problem,) = inspect((header + "\n").encode(), name="series.csv").problems
    assert "uses ';' as delimiter (semicolon-delimited)" in problem
    assert "split on it, missing tempoMinutos; unexpected 'duracao'" in problem
    assert f"Expected the series.csv header (see docs/data-model.md): {SERIES.header}" in problem


def test_a_header_of_unrelated_names_says_so_briefly() -> None:
    (problem,) = inspect(b"a,b,c,d,e,f\n1,2,3,4,5,6\n").problems
    assert "uses ',' as delimiter" in problem and "none of its 6 column(s) is a movies.csv or series.csv column" in problem
    assert "missing" not in problem


def test_quoted_case_changed_and_repeated_header_names() -> None:
    quoted = "|".join(f'"{c}"' for c in MOVIES.columns)
    (problem,) = inspect((quoted + "\n" + ACTOR_ROWS[0] + "\n").encode()).problems
    assert "column names are quoted or padded (e.g. '\"id\"'); moviedl reads them bare" in problem
    assert "missing" not in problem
    (problem,) = inspect((MOVIES.header.replace("id|", "ID|", 1) + "\n").encode()).problems
    assert "missing id; unexpected 'ID' (expected 'id')" in problem
    (problem,) = inspect((MOVIES.header + "|id\n").encode()).problems
    assert "repeated 'id'" in problem
