"""The streaming CSV checks behind ``ingest-csv`` (and later ``validate``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviedl.csvcheck import CsvInspector
from moviedl.sources import MOVIES, SERIES

GOOD_ROW = "tt0111161|Um Sonho de Liberdade|The Shawshank Redemption|1994|142|Drama|9.3|2900000|M|Andy Dufresne|Tim Robbins|1958|\\N|actor,director|tt0111161"


def inspect(data: bytes, chunk_size: int | None = None, name: str = "movies.csv"):
    inspector = CsvInspector(name)
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
