"""Manifests: what the tool recorded about each Raw file it wrote (size, SHA-256, row count,
longest line).

They live under ``_moviedl/manifests/<raw key>.json`` so later stages (``refine``, ``validate``)
can reconcile row counts, detect a Raw file that changed after ingestion, and size their CSV
reader for the file's longest line.

A manifest that is not what ingest-csv writes (bytes that are not JSON, JSON cut short, another
shape, a field of the wrong type) is damaged lake content: :class:`DamagedManifest`, a data
failure (exit 1) naming the file and what is wrong; ``validate`` reports it as a failing check.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from moviedl.core.errors import DataCheckError
from moviedl.storage.lake import STATE_PREFIX, Lake

MANIFEST_PREFIX = f"{STATE_PREFIX}/manifests"


class DamagedManifest(DataCheckError):
    """A manifest that cannot be what ingest-csv wrote: ``where`` (its URI) and ``problem``."""

    def __init__(self, where: str, problem: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(f"manifest {where} is damaged ({problem}); delete it and re-ingest")


@dataclass(frozen=True)
class RawManifest:
    key: str
    kind: str
    sha256: str
    size: int
    rows: int
    source_name: str
    ingested_at: str
    tool_version: str
    # Bytes of the file's longest line, newline excluded (moviedl.checks.csv_file.longest_line). None in
    # a manifest written before the field existed: measure the file then.
    longest_line: int | None = None

    @staticmethod
    def key_for(raw_key: str) -> str:
        return f"{MANIFEST_PREFIX}/{raw_key}.json"

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes, where: str) -> RawManifest:
        """The manifest stored as ``data`` at ``where``; :class:`DamagedManifest` saying what is
        wrong when it is not one."""
        try:
            values: Any = json.loads(data)
        except UnicodeDecodeError:
            raise DamagedManifest(where, "not UTF-8 text") from None
        except ValueError as exc:  # json.JSONDecodeError: garbage, or cut short
            raise DamagedManifest(where, f"not valid JSON: {exc}") from None
        if not isinstance(values, dict):
            raise DamagedManifest(where, f"a JSON {_json_kind(values)}, not an object")
        missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in values]
        if missing:
            raise DamagedManifest(where, f"lacks {', '.join(missing)}")
        wrong = [
            f"{f.name} is {values[f.name]!r}, not {_WANTED[f.name][1]}"
            for f in fields(cls)
            if f.name in values and not _WANTED[f.name][0](values[f.name])
        ]
        if wrong:
            raise DamagedManifest(where, "; ".join(wrong))
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


#: field -> (its test, what it must be): what ingest-csv writes
_WANTED = {
    "key": (_text, "a text"), "kind": (_text, "a text"), "sha256": (_text, "a text"),
    "size": (_count, "a byte count"), "rows": (_count, "a row count"),
    "source_name": (_text, "a text"), "ingested_at": (_text, "a text"),
    "tool_version": (_text, "a text"),
    "longest_line": (lambda v: v is None or _count(v), "a byte count"),
}


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), "null"
    )


def read_manifest(lake: Lake, raw_key: str) -> RawManifest | None:
    key = RawManifest.key_for(raw_key)
    if not lake.exists(key):
        return None
    return RawManifest.from_json(lake.read_bytes(key), lake.uri_of(key))


def write_manifest(lake: Lake, manifest: RawManifest) -> None:
    lake.write_bytes(RawManifest.key_for(manifest.key), manifest.to_json())
