"""Manifests: what the tool recorded about each Raw file it wrote (size, SHA-256, row count,
longest line).

They live under ``_moviedl/manifests/<raw key>.json`` so later stages (``refine``, ``validate``)
can reconcile row counts, detect a Raw file that changed after ingestion, and size their CSV
reader for the file's longest line.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from moviedl.core.errors import MoviedlError
from moviedl.storage.lake import STATE_PREFIX, Lake

MANIFEST_PREFIX = f"{STATE_PREFIX}/manifests"


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
        try:
            values: dict[str, Any] = json.loads(data)
            manifest = cls(**{
                f.name: values[f.name]
                for f in fields(cls)
                if f.name in values or f.default is MISSING  # optional fields may be absent
            })
            longest = manifest.longest_line
            if longest is not None and (type(longest) is not int or longest < 0):
                raise ValueError(f"longest_line is {longest!r}, not a byte count")
            return manifest
        except (ValueError, KeyError, TypeError) as exc:
            raise MoviedlError(f"manifest {where} is damaged ({exc}); delete it and re-ingest") from None


def read_manifest(lake: Lake, raw_key: str) -> RawManifest | None:
    key = RawManifest.key_for(raw_key)
    if not lake.exists(key):
        return None
    return RawManifest.from_json(lake.read_bytes(key), lake.uri_of(key))


def write_manifest(lake: Lake, manifest: RawManifest) -> None:
    lake.write_bytes(RawManifest.key_for(manifest.key), manifest.to_json())
