"""Parquet files joined into one without decoding a row: their row groups copied as bytes,
one new footer.

A Parquet file is ``PAR1``, the column chunks of its row groups (and whatever its writer put
after them: bloom filters, page indexes), then its footer — a Thrift compact-protocol
``FileMetaData`` —, the footer's length (4 bytes, little endian) and ``PAR1`` again. Every place
a footer points into the file is an absolute byte offset. :func:`concat_parquet` copies each
piece's bytes between its ``PAR1`` and its footer one after another, shifts the offsets of each
piece's row groups by where its bytes now start, and writes one footer that lists every row
group in order. The pieces must share one schema (they come from one query); rows, encodings,
statistics and compression stay exactly as each piece's writer made them.

This is how :class:`moviedl.engines.duck.DuckDBEngine` writes a large ordered table on every
core: each piece is written on its own connection, in parallel, and joined here in order
(DuckDB's own order-preserving write keeps one core waiting much of the time; see
docs/performance.md).

The codec below reads and writes any Thrift compact-protocol value generically (field ids and
types as found), so footer fields this module does not know survive unchanged.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"PAR1"
_COPY_CHUNK = 8 << 20

# Thrift compact-protocol types
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(13)

#: a struct as read: (field id, type, value) in the order found
Fields = list[tuple[int, int, Any]]

# parquet.thrift field ids (https://github.com/apache/parquet-format, src/main/thrift/parquet.thrift)
_FILE_SCHEMA, _FILE_NUM_ROWS, _FILE_ROW_GROUPS, _FILE_KV = 2, 3, 4, 5
_FILE_ENCRYPTION = (8, 9)
_RG_COLUMNS, _RG_NUM_ROWS, _RG_FILE_OFFSET, _RG_ORDINAL = 1, 3, 5, 7
_CC_FILE_OFFSET, _CC_META, _CC_OFFSET_INDEX, _CC_OFFSET_INDEX_LENGTH, _CC_COLUMN_INDEX = 2, 3, 4, 5, 6
_CC_ENCRYPTED = (8, 9)
_META_OFFSETS = (9, 10, 11, 14)  # data_page, index_page, dictionary_page, bloom_filter
_OFFSET_INDEX_PAGES, _PAGE_OFFSET = 1, 1
# SchemaElement: repetition (0 REQUIRED, 1 OPTIONAL, 2 REPEATED), name, children, converted
# type (3 LIST), logical type (a union: field 3 is LIST)
_SE_REPETITION, _SE_NAME, _SE_CHILDREN, _SE_CONVERTED, _SE_LOGICAL = 3, 4, 5, 6, 10
_REQUIRED, _OPTIONAL, _REPEATED, _LIST_TYPE = 0, 1, 2, 3


class ParquetConcatError(ValueError):
    """A piece is not a Parquet file this module can join (a writer's bug, not the user's data)."""


# --- Thrift compact protocol ------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def take(self, count: int) -> bytes:
        chunk = self.data[self.pos : self.pos + count]
        if len(chunk) != count:
            raise ParquetConcatError("the footer ends in the middle of a value")
        self.pos += count
        return chunk

    def value(self, kind: int) -> Any:
        if kind in (_TRUE, _FALSE):  # a bool inside a list, set or map: one byte
            return self.byte()
        if kind == _BYTE:
            return self.byte()
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            return self.take(8)
        if kind == _BINARY:
            return self.take(self.varint())
        if kind in (_LIST, _SET):
            header = self.byte()
            size, element = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            return (element, [self.value(element) for _ in range(size)])
        if kind == _MAP:
            size = self.varint()
            types = self.byte() if size else 0
            key, val = types >> 4, types & 0x0F
            return (key, val, [(self.value(key), self.value(val)) for _ in range(size)])
        if kind == _STRUCT:
            return self.fields()
        raise ParquetConcatError(f"unknown Thrift type {kind} in the footer")

    def fields(self) -> Fields:
        found: Fields = []
        last = 0
        while (header := self.byte()) != _STOP:
            delta, kind = header >> 4, header & 0x0F
            field = last + delta if delta else self.zigzag()
            found.append((field, kind, kind == _TRUE if kind in (_TRUE, _FALSE) else self.value(kind)))
            last = field
        return found


def _varint(value: int, out: bytearray) -> None:
    while True:
        if value < 0x80:
            out.append(value)
            return
        out.append((value & 0x7F) | 0x80)
        value >>= 7


def _zigzag(value: int, out: bytearray) -> None:
    _varint((value << 1) ^ (value >> 63), out)


def _write_value(kind: int, value: Any, out: bytearray) -> None:
    if kind in (_TRUE, _FALSE, _BYTE):
        out.append(value)
    elif kind in (_I16, _I32, _I64):
        _zigzag(value, out)
    elif kind == _DOUBLE:
        out += value
    elif kind == _BINARY:
        _varint(len(value), out)
        out += value
    elif kind in (_LIST, _SET):
        element, items = value
        if len(items) < 15:
            out.append(len(items) << 4 | element)
        else:
            out.append(0xF0 | element)
            _varint(len(items), out)
        for item in items:
            _write_value(element, item, out)
    elif kind == _MAP:
        key, val, pairs = value
        _varint(len(pairs), out)
        if pairs:
            out.append(key << 4 | val)
        for k, v in pairs:
            _write_value(key, k, out)
            _write_value(val, v, out)
    elif kind == _STRUCT:
        _write_fields(value, out)
    else:
        raise ParquetConcatError(f"unknown Thrift type {kind}")


def _write_fields(fields: Fields, out: bytearray) -> None:
    last = 0
    for field, kind, value in fields:
        wire = (_TRUE if value else _FALSE) if kind in (_TRUE, _FALSE) else kind
        if 0 < field - last <= 15:
            out.append((field - last) << 4 | wire)
        else:
            out.append(wire)
            _zigzag(field, out)
        if kind not in (_TRUE, _FALSE):
            _write_value(kind, value, out)
        last = field
    out.append(_STOP)


def encode(fields: Fields) -> bytes:
    out = bytearray()
    _write_fields(fields, out)
    return bytes(out)


def _encoded(kind: int, value: Any) -> bytes:
    out = bytearray()
    _write_value(kind, value, out)
    return bytes(out)


def decode(data: bytes) -> Fields:
    return _Reader(data).fields()


def _get(fields: Fields, field: int, default: Any = None) -> Any:
    return next((value for f, _, value in fields if f == field), default)


def _with(fields: Fields, field: int, kind: int, value: Any) -> Fields:
    """``fields`` with ``field`` set (replaced where it is, else added in field-id order)."""
    kept = [(f, k, v) for f, k, v in fields if f != field]
    kept.append((field, kind, value))
    return sorted(kept, key=lambda item: item[0])


def _shifted(fields: Fields, ids: Sequence[int], shift: int) -> Fields:
    """``fields`` with the offsets ``ids`` moved by ``shift`` (an offset of 0 means unset)."""
    return [(f, k, v + shift if f in ids and v else v) for f, k, v in fields]


# --- Parquet ------------------------------------------------------------------------------------


def read_footer(stream: BinaryIO, size: int) -> tuple[Fields, int]:
    """The decoded ``FileMetaData`` of the Parquet file open in ``stream`` (``size`` bytes) and
    where its footer starts."""
    if size < 12:
        raise ParquetConcatError("too short to be a Parquet file")
    stream.seek(size - 8)
    tail = stream.read(8)
    length = struct.unpack("<I", tail[:4])[0]
    start = size - 8 - length
    if tail[4:] != MAGIC or start < 4:
        raise ParquetConcatError("not a Parquet file (no PAR1 footer)")
    stream.seek(start)
    return decode(stream.read(length)), start


def required_columns(path: str | Path) -> list[str]:
    """The columns the Parquet file at ``path`` declares REQUIRED (not nullable), and as
    ``name[]`` the lists whose items it declares REQUIRED, read from its footer alone (as
    pyarrow's schema would say); [] when the file cannot be read as Parquet."""
    try:
        with open(path, "rb") as stream:
            footer, _start = read_footer(stream, os.fstat(stream.fileno()).st_size)
        _element, elements = _get(footer, _FILE_SCHEMA, (None, []))
        found: list[str] = []
        at = 1  # elements[0] is the root; the rest is its tree, depth first
        for _column in range(_get(elements[0], _SE_CHILDREN, 0) if elements else 0):
            field = elements[at]
            name = _get(field, _SE_NAME, b"").decode("utf-8", "replace")
            repetition = _get(field, _SE_REPETITION, _REQUIRED)
            if repetition != _OPTIONAL:  # REQUIRED; REPEATED is a list that is never NULL either
                found.append(name)
            item = _list_item(elements, at)
            if repetition == _REPEATED or (item is not None and _get(item, _SE_REPETITION) != _OPTIONAL):
                found.append(f"{name}[]")
            at = _after(elements, at)
        return found
    except (OSError, ParquetConcatError, IndexError, TypeError, ValueError):
        return []


def _after(elements: list[Fields], at: int) -> int:
    """The index just after the subtree of the schema element at ``at``."""
    end = at + 1
    for _child in range(_get(elements[at], _SE_CHILDREN, 0)):
        end = _after(elements, end)
    return end


def _list_item(elements: list[Fields], at: int) -> Fields | None:
    """The item of the list at ``at`` (LIST > repeated group > item, as DuckDB, Spark and pyarrow
    write lists), or None when ``at`` is not such a list (older writers' two-level lists
    are not judged)."""
    field = elements[at]
    logical = _get(field, _SE_LOGICAL) or []
    if _get(field, _SE_CONVERTED) != _LIST_TYPE and not any(f == _LIST_TYPE for f, _, _ in logical):
        return None
    if _get(field, _SE_CHILDREN, 0) != 1 or _get(elements[at + 1], _SE_CHILDREN, 0) != 1:
        return None
    return elements[at + 2]


def _offset_index(stream: BinaryIO, offset: int, length: int, shift: int) -> bytes:
    """The OffsetIndex at ``offset`` with its pages' offsets moved by ``shift``."""
    stream.seek(offset)
    index = decode(stream.read(length))
    element, pages = _get(index, _OFFSET_INDEX_PAGES)
    moved = [_shifted(page, (_PAGE_OFFSET,), shift) for page in pages]
    return encode(_with(index, _OFFSET_INDEX_PAGES, _LIST, (element, moved)))


def concat_parquet(
    pieces: Sequence[Path], path: Path, *, metadata: Mapping[str, str] | None = None
) -> int:
    """Join the Parquet files ``pieces`` (one schema) into ``path``, their row groups in the
    order given, ``metadata`` as the key-value metadata; returns the rows. ``path`` is written
    and ``fsync``'d; nothing else is verified here (the audit reads the file back)."""
    if not pieces:
        raise ParquetConcatError("nothing to join")
    footer: Fields | None = None
    schema = b""
    groups: list[Fields] = []
    indexes = bytearray()  # relocated offset indexes, written after the row groups
    relocations: list[tuple[Fields, int]] = []  # (column chunk, offset of its index in `indexes`)
    rows = 0
    with open(path, "wb") as out:
        out.write(MAGIC)
        for piece in pieces:
            with open(piece, "rb") as stream:
                found, start = read_footer(stream, os.fstat(stream.fileno()).st_size)
                if any(_get(found, f) is not None for f in _FILE_ENCRYPTION):
                    raise ParquetConcatError(f"{piece} is encrypted")
                this_schema = _encoded(_LIST, _get(found, _FILE_SCHEMA))
                if footer is None:
                    footer, schema = found, this_schema
                elif this_schema != schema:
                    raise ParquetConcatError(f"{piece} does not have the schema of {pieces[0]}")
                shift = out.tell() - len(MAGIC)
                stream.seek(len(MAGIC))
                left = start - len(MAGIC)
                while left:
                    chunk = stream.read(min(left, _COPY_CHUNK))
                    if not chunk:
                        raise ParquetConcatError(f"{piece} ended before its footer")
                    out.write(chunk)
                    left -= len(chunk)
                for group in _get(found, _FILE_ROW_GROUPS, (_STRUCT, []))[1]:
                    columns = []
                    for chunk_fields in _get(group, _RG_COLUMNS)[1]:
                        if any(_get(chunk_fields, f) is not None for f in _CC_ENCRYPTED):
                            raise ParquetConcatError(f"{piece} has an encrypted column")
                        moved = _shifted(chunk_fields, (_CC_FILE_OFFSET, _CC_COLUMN_INDEX), shift)
                        meta = _get(moved, _CC_META)
                        if meta is not None:
                            moved = _with(moved, _CC_META, _STRUCT, _shifted(meta, _META_OFFSETS, shift))
                        at = _get(chunk_fields, _CC_OFFSET_INDEX)
                        if at:
                            rewritten = _offset_index(
                                stream, at, _get(chunk_fields, _CC_OFFSET_INDEX_LENGTH), shift
                            )
                            moved = _with(moved, _CC_OFFSET_INDEX_LENGTH, _I32, len(rewritten))
                            relocations.append((moved, len(indexes)))
                            indexes += rewritten
                        columns.append(moved)
                    group = _with(group, _RG_COLUMNS, _LIST, (_STRUCT, columns))
                    groups.append(_shifted(group, (_RG_FILE_OFFSET,), shift))
                    rows += _get(group, _RG_NUM_ROWS, 0)
        assert footer is not None
        base = out.tell()
        out.write(indexes)
        for chunk_fields, offset in relocations:  # the same lists the row groups hold
            placed = _with(chunk_fields, _CC_OFFSET_INDEX, _I64, base + offset)
            chunk_fields[:] = placed
        numbered = [
            _with(g, _RG_ORDINAL, _I16, i) if _get(g, _RG_ORDINAL) is not None else g
            for i, g in enumerate(groups)
        ]
        merged = _with(footer, _FILE_NUM_ROWS, _I64, rows)
        merged = _with(merged, _FILE_ROW_GROUPS, _LIST, (_STRUCT, numbered))
        if metadata is not None:
            pairs = [[(1, _BINARY, k.encode()), (2, _BINARY, v.encode())] for k, v in metadata.items()]
            merged = _with(merged, _FILE_KV, _LIST, (_STRUCT, pairs))
        encoded = encode(merged)
        out.write(encoded)
        out.write(struct.pack("<I", len(encoded)))
        out.write(MAGIC)
        out.flush()
        os.fsync(out.fileno())
    return rows
