"""Issue 11.4: whatever ``ingest-csv`` stores, ``refine`` must read.

DuckDB's ``read_csv`` refuses lines longer than its ``max_line_size`` (2 MB by default), so
``ingest-csv`` records each file's longest line in the Raw manifest (refine sizes its reader by
it) and refuses a line over :data:`moviedl.checks.csv_file.MAX_LINE_BYTES`, ingesting nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from moviedl.checks import csv_file as csvcheck
from moviedl.checks.csv_file import MAX_LINE_BYTES, longest_line
from moviedl.storage.manifest import RawManifest

DATE = ("--date", "2024-05-01")
MOVIES_KEY = "Raw/Local/CSV/Movies/2024/05/01/movies.csv"
BIG_FIELD_BYTES = 5_000_000  # over DuckDB's 2 MB default max_line_size, far under the cap
LONG_LINE_NO = 3  # the file's line holding the big field (the header is line 1)


def character(size: int) -> str:
    """A ``personagem`` value of ``size`` UTF-8 bytes, multi-byte characters included."""
    unit = "Zoë, a Tramp; "  # 15 bytes, 14 characters
    text = unit * (size // len(unit.encode()))
    return text + "x" * (size - len(text.encode()))


def movies_with_a_big_field(folder: Path, movies_csv: Path, size: int = BIG_FIELD_BYTES) -> tuple[Path, str]:
    """The sample movies.csv (its own header) with line 3's ``personagem`` ``size`` bytes long."""
    lines = movies_csv.read_text("utf-8").splitlines()
    header = lines[0].split("|")
    fields = lines[LONG_LINE_NO - 1].split("|")
    big = character(size)
    fields[header.index("personagem")] = big
    lines[LONG_LINE_NO - 1] = "|".join(fields)
    path = folder / "movies.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path, big


def manifest_of(lake: Path, key: str = MOVIES_KEY) -> dict:
    return json.loads((lake / RawManifest.key_for(key)).read_text())


def test_a_5_mb_field_is_ingested_and_its_line_length_recorded(invoke, tmp_path: Path, movies_csv: Path) -> None:
    path, _ = movies_with_a_big_field(tmp_path, movies_csv)
    lake = tmp_path / "lake"
    result = invoke("ingest-csv", path, "--lake", lake, *DATE, "--format", "json")
    assert result.exit_code == 0, result.output
    data = path.read_bytes()
    expected = len(data.split(b"\n")[LONG_LINE_NO - 1])
    assert expected > BIG_FIELD_BYTES > 2 * 1024 * 1024
    assert manifest_of(lake)["longest_line"] == expected
    assert (lake / MOVIES_KEY).read_bytes() == data
    assert longest_line(lake / MOVIES_KEY) == expected  # the same figure without a manifest


def test_a_line_over_the_cap_is_refused_naming_file_line_and_size(
    invoke, tmp_path: Path, movies_csv: Path, series_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvcheck, "MAX_LINE_BYTES", 4_000_000)  # the 5 MB line is now too long
    path, _ = movies_with_a_big_field(tmp_path, movies_csv)
    size = len(path.read_bytes().split(b"\n")[LONG_LINE_NO - 1])
    lake = tmp_path / "lake"
    result = invoke("ingest-csv", series_csv, path, "--lake", lake, *DATE)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())  # the console wraps long messages
    assert f"{path} line {LONG_LINE_NO}: the line is {size:,} bytes long" in text
    assert "over the limit of 4,000,000 bytes per line" in text
    assert not (lake / "Raw").exists()  # nothing ingested, not even the good series.csv
    assert "Traceback" not in result.output

    as_json = invoke("ingest-csv", path, "--lake", lake, *DATE, "--format", "json")
    assert as_json.exit_code == 2
    (problem,) = json.loads(as_json.stdout)["problems"]
    assert problem.startswith(f"{path} line {LONG_LINE_NO}: the line is {size:,} bytes long")


def test_the_real_cap_is_enforced(invoke, tmp_path: Path, movies_csv: Path) -> None:
    """Without lowering the cap: a line one byte over MAX_LINE_BYTES (a 256 MiB file)."""
    header = movies_csv.read_bytes().split(b"\n", 1)[0]
    path = tmp_path / "movies.csv"
    with open(path, "wb") as out:
        out.write(header + b"\n")
        block = b"x" * (1 << 20)
        for _ in range(MAX_LINE_BYTES // len(block)):
            out.write(block)
        out.write(b"x\n")
    lake = tmp_path / "lake"
    result = invoke("ingest-csv", path, "--lake", lake, *DATE, "--format", "json")
    path.unlink()
    assert result.exit_code == 2
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem.startswith(f"{path} line 2: the line is {MAX_LINE_BYTES + 1:,} bytes long")
    assert f"over the limit of {MAX_LINE_BYTES:,} bytes per line" in problem
    assert not (lake / "Raw").exists()


def test_a_5_mb_field_goes_through_refine_and_validate(
    invoke, tmp_path: Path, movies_csv: Path, series_csv: Path
) -> None:
    path, big = movies_with_a_big_field(tmp_path, movies_csv)
    lake = tmp_path / "lake"
    ingested = invoke("ingest-csv", path, series_csv, "--lake", lake, *DATE)
    assert ingested.exit_code == 0, ingested.output
    refined = invoke("refine", "--lake", lake, *DATE)
    assert refined.exit_code == 0, refined.output
    validated = invoke("validate", "--lake", lake, *DATE)
    assert validated.exit_code == 0, validated.output

    (parquet,) = (lake / "Trusted/Local/Parquet/Movies/dt=2024-05-01").glob("*.parquet")
    names = pq.read_table(parquet, columns=["character_name"]).column("character_name").to_pylist()
    assert big in names
