"""Parquet pieces joined without decoding: the joined file is a real Parquet file (DuckDB and
pyarrow read it, filter on its statistics), holds every piece's rows in the order given, and
keeps each piece's row groups, bloom filters and page indexes usable."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from moviedl.engines import parquet_concat
from moviedl.engines.parquet_concat import ParquetConcatError, concat_parquet, decode, encode

PIECE_SQL = """
COPY (
    SELECT i AS n, 'title ' || (i % 7) AS title, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 0.5 END AS rating,
           [('tt' || (i % 3)), ('tt' || (i % 11))] AS known_for
    FROM range($lo, $hi) t(i)
) TO $path (FORMAT parquet, COMPRESSION zstd)
"""


def duckdb_pieces(tmp_path: Path, bounds: list[tuple[int, int]]) -> list[Path]:
    con = duckdb.connect()
    pieces = []
    for i, (lo, hi) in enumerate(bounds):
        piece = tmp_path / f"piece{i}.parquet"
        con.execute(PIECE_SQL, {"lo": lo, "hi": hi, "path": str(piece)})
        pieces.append(piece)
    return pieces


def test_duckdb_pieces_join_into_one_file_with_every_row_in_order(tmp_path: Path) -> None:
    bounds = [(0, 3000), (3000, 3001), (3001, 3001), (3001, 7000)]  # one piece holds no row
    pieces = duckdb_pieces(tmp_path, bounds)
    joined = tmp_path / "joined.parquet"

    rows = concat_parquet(pieces, joined, metadata={"moviedl.table": "t", "moviedl.rows": "7000"})

    assert rows == 7000
    con = duckdb.connect()
    assert con.execute(
        "SELECT count(*), count(DISTINCT n), min(n), max(n) FROM read_parquet($p)", {"p": str(joined)}
    ).fetchone() == (7000, 7000, 0, 6999)
    assert pq.read_table(joined).column("n").to_pylist() == list(range(7000))  # in order
    expected = pa.concat_tables([pq.read_table(p) for p in pieces])
    assert pq.read_table(joined).equals(expected)
    meta = pq.ParquetFile(joined).metadata
    assert meta.num_rows == 7000
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3000, 1, 3999]
    assert pq.ParquetFile(joined).schema_arrow.equals(pq.ParquetFile(pieces[0]).schema_arrow)
    assert con.execute(
        "SELECT decode(key), decode(value) FROM parquet_kv_metadata($p) ORDER BY 1", {"p": str(joined)}
    ).fetchall() == [("moviedl.rows", "7000"), ("moviedl.table", "t")]
    # the statistics and bloom filters of the later pieces point at their own bytes: a filter
    # that skips row groups by them still finds exactly the rows
    assert con.execute(
        "SELECT count(*), min(n) FROM read_parquet($p) WHERE n >= 6990 AND title = 'title 3'",
        {"p": str(joined)},
    ).fetchone() == (1, 6996)


def test_pyarrow_pieces_keep_their_page_indexes_pointing_at_their_pages(tmp_path: Path) -> None:
    """pyarrow writes page indexes (absolute offsets inside the file): after the join each
    column chunk's offset index still starts at that chunk's first page."""
    pieces = []
    for i in range(3):
        piece = tmp_path / f"p{i}.parquet"
        table = pa.table({"n": pa.array(range(i * 1000, (i + 1) * 1000), pa.int64()),
                          "s": [f"v{j % 13}" for j in range(1000)]})
        pq.write_table(table, piece, write_page_index=True, data_page_size=256, write_batch_size=64)
        pieces.append(piece)
    joined = tmp_path / "joined.parquet"
    assert concat_parquet(pieces, joined) == 3000
    assert pq.read_table(joined).column("n").to_pylist() == list(range(3000))

    with open(joined, "rb") as stream:
        footer, _ = parquet_concat.read_footer(stream, os.path.getsize(joined))
        checked = 0
        for group in parquet_concat._get(footer, 4)[1]:
            for chunk in parquet_concat._get(group, 1)[1]:
                meta = parquet_concat._get(chunk, 3)
                first_page = parquet_concat._get(meta, 11) or parquet_concat._get(meta, 9)
                stream.seek(parquet_concat._get(chunk, 4))
                index = decode(stream.read(parquet_concat._get(chunk, 5)))
                pages = parquet_concat._get(index, 1)[1]
                assert parquet_concat._get(pages[0], 1) in (first_page, parquet_concat._get(meta, 9))
                assert len(pages) > 1  # several pages per chunk: their offsets all moved
                checked += 1
    assert checked == 6


def test_the_footer_codec_writes_back_the_bytes_it_read(tmp_path: Path) -> None:
    """Every footer field survives, known to this module or not."""
    (piece,) = duckdb_pieces(tmp_path, [(0, 500)])
    size = piece.stat().st_size
    with open(piece, "rb") as stream:
        _, start = parquet_concat.read_footer(stream, size)
        stream.seek(start)
        raw = stream.read(size - 8 - start)
    assert encode(decode(raw)) == raw


def test_pieces_of_different_schemas_are_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(pa.table({"n": [1, 2]}), first)
    pq.write_table(pa.table({"n": ["1"]}), second)
    with pytest.raises(ParquetConcatError, match="does not have the schema"):
        concat_parquet([first, second], tmp_path / "joined.parquet")


def test_a_piece_that_is_not_parquet_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not a footer at all PAR2")
    with pytest.raises(ParquetConcatError, match="not a Parquet file"):
        concat_parquet([bad], tmp_path / "joined.parquet")


def _pyarrow_required(path: Path) -> list[str]:
    """What pyarrow's schema says is declared REQUIRED: columns, and list items as ``name[]``."""
    found = []
    for f in pq.read_schema(path):
        if not f.nullable:
            found.append(f.name)
        if pa.types.is_list(f.type) and not f.type.value_field.nullable:
            found.append(f"{f.name}[]")
    return found


def test_required_columns_are_read_from_the_footer_as_pyarrow_reads_them(tmp_path: Path) -> None:
    """The schema audit's REQUIRED check reads the footer itself (no pyarrow import in refine)."""
    text, ints = pa.list_(pa.field("element", pa.string(), nullable=False)), pa.list_(pa.int32())
    schema = pa.schema([
        pa.field("imdb_id", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("genres", text),  # the list may be NULL, its items may not
        pa.field("votes", ints, nullable=False),
        pa.field("point", pa.struct([pa.field("x", pa.int32(), nullable=False)])),
        pa.field("tags", pa.list_(pa.field("element", pa.string(), nullable=False)), nullable=False),
        pa.field("year", pa.int32()),
    ])
    table = pa.table({
        "imdb_id": ["tt0000001"], "title": [None], "genres": [["Drama"]], "votes": [[1, None]],
        "point": [{"x": 1}], "tags": [["a"]], "year": [None],
    }, schema=schema)
    pq.write_table(table, tmp_path / "arrow.parquet")
    duckdb.execute(  # DuckDB's own writer marks columns its statistics prove NULL-free REQUIRED
        f"COPY (SELECT 'tt1' AS imdb_id, ['a'] AS genres, CAST(NULL AS INT) AS year) "
        f"TO '{tmp_path / 'duck.parquet'}' (FORMAT parquet)"
    )

    assert parquet_concat.required_columns(tmp_path / "arrow.parquet") == [
        "imdb_id", "genres[]", "votes", "tags", "tags[]",
    ] == _pyarrow_required(tmp_path / "arrow.parquet")
    duck = parquet_concat.required_columns(tmp_path / "duck.parquet")
    assert duck == _pyarrow_required(tmp_path / "duck.parquet") and "imdb_id" in duck
    (tmp_path / "not.parquet").write_bytes(b"id|title\n")
    assert parquet_concat.required_columns(tmp_path / "not.parquet") == []
    assert parquet_concat.required_columns(tmp_path / "missing.parquet") == []
