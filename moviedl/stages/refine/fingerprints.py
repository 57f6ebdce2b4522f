"""What each published table was built from, so ``refine`` can skip what would come out the same.

When ``refine`` publishes a table (a Trusted partition or a Refined table), it records the
table's **inputs fingerprint** — a SHA-256 over what decides its content: the Raw file's SHA-256
from its ingest manifest (Trusted CSV), the Raw TMDB files' names, sizes and stamps (Trusted
TMDB), or every published Trusted partition's stamp (Refined), plus the code that transforms
them (moviedl's version, every SQL file, the value rules, the check settings) — and the
**stamp** of the object it published (S3 ETag, or local mtime and size). Both live in one small
JSON object, ``_moviedl/state/fingerprints.json``.

Next time, a table whose inputs fingerprint is the same and whose published object still has
the recorded stamp (nobody replaced or deleted it) is skipped: nothing is read, built, audited
or written for it. It was audited when it was published, and ``validate`` still checks the lake
as it is. ``refine --force`` rebuilds regardless.

Only listings and two small objects are read, so an unchanged lake refines in well under a
second, locally or on S3.

The same file keeps the stamps of the Trusted objects the published Refined tables were built
from (``refined_from``): when the Trusted zone holds other objects now (a refine stopped between
its Trusted and its Refined publish, or ``refine --stage trusted``), ``validate`` says that
Refined is older than Trusted (:mod:`moviedl.stages.refine.lake_checks`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from moviedl import __version__
from moviedl.core.config import Settings
from moviedl.core.contract import TRUSTED_TABLES, Table
from moviedl.storage.lake import STATE_PREFIX, Lake, ObjectInfo

STATE_KEY = f"{STATE_PREFIX}/state/fingerprints.json"
FORMAT = 1


@dataclass
class Entry:
    """One published table: what it was built from, what was published, and its counts."""

    inputs: str
    stamp: str
    counts: dict[str, Any] = field(default_factory=dict)  # rows_in, rows_out, duplicates, quarantined


@dataclass
class Fingerprints:
    entries: dict[str, Entry] = field(default_factory=dict)  # published data key -> entry
    changed: bool = False
    #: Trusted key -> stamp: what the Refined tables recorded with them were built from
    refined_from: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, lake: Lake) -> Fingerprints:
        """The recorded fingerprints; none when the file is missing or unreadable (everything is
        then rebuilt, which is always correct)."""
        if not lake.exists(STATE_KEY):
            return cls()
        try:
            data = json.loads(lake.read_bytes(STATE_KEY))
            if data.get("format") != FORMAT:
                return cls()
            found = cls({key: Entry(**value) for key, value in data["tables"].items()})
            built_from = data.get("refined_from") or {}
            if isinstance(built_from, dict):
                found.refined_from = {str(k): str(v) for k, v in built_from.items()}
            return found
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()

    def save(self, lake: Lake) -> None:
        if not self.changed:
            return
        tables = {key: entry.__dict__ for key, entry in sorted(self.entries.items())}
        state: dict[str, Any] = {"format": FORMAT, "tables": tables}
        if self.refined_from:
            state["refined_from"] = dict(sorted(self.refined_from.items()))
        lake.write_bytes(STATE_KEY, json.dumps(state, indent=1).encode())
        self.changed = False

    def unchanged(self, key: str, inputs: str, stamps: dict[str, str]) -> Entry | None:
        """The entry of ``key`` when its inputs are ``inputs`` and its published object still has
        the recorded stamp (``stamps``: key -> stamp of the objects in the lake now)."""
        entry = self.entries.get(key)
        if entry and entry.inputs == inputs and stamps.get(key) == entry.stamp:
            return entry
        return None

    def record(self, key: str, inputs: str, stamp: str | None, counts: dict[str, Any]) -> None:
        if stamp is None:
            self.forget(key)
            return
        self.entries[key] = Entry(inputs, stamp, counts)
        self.changed = True

    def forget(self, key: str) -> None:
        if self.entries.pop(key, None) is not None:
            self.changed = True

    def built_from(self, trusted: dict[str, str]) -> None:
        """Record ``trusted`` (key -> stamp) as what the Refined tables just recorded were built
        from."""
        if trusted != self.refined_from:
            self.refined_from = dict(trusted)
            self.changed = True


def digest(parts: Iterable[str]) -> str:
    """SHA-256 of ``parts`` (order matters; each part is length-prefixed, so no two lists collide)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


@cache
def _code() -> str:
    """moviedl's version and every SQL file: a change of either changes every fingerprint."""
    folder = resources.files("moviedl") / "sql"
    texts = sorted((f.name, f.read_text("utf-8")) for f in folder.iterdir() if f.name.endswith(".sql"))
    return digest([__version__, *(f"{name}\n{text}" for name, text in texts)])


def code_fingerprint(settings: Settings, engine: str) -> str:
    """The code and the settings that decide what refine writes and whether it passes."""
    from moviedl.checks.values import RULES

    return digest([
        _code(), engine, repr(RULES), json.dumps(settings.checks_severity, sort_keys=True),
        repr(settings.checks_quarantine_warn_share), repr(settings.checks_quarantine_fail_share),
    ])


def stamps(lake: Lake, prefixes: Iterable[str]) -> dict[str, str]:
    """key -> stamp of every object under ``prefixes`` (one listing each)."""
    return {key: info.stamp for key, info in listing(lake, prefixes).items()}


def listing(lake: Lake, prefixes: Iterable[str]) -> dict[str, ObjectInfo]:
    """key -> every object under ``prefixes`` (one listing each)."""
    return {o.key: o for prefix in prefixes for o in lake.list_objects(prefix)}


# --- the inputs of each table -----------------------------------------------------------------


def csv_inputs(code: str, key: str, sizes: dict[str, str]) -> str:
    """The inputs fingerprint of a Trusted CSV partition built from the Raw CSV ``key``
    (``sizes``: Raw key -> "size:stamp", :class:`~moviedl.stages.refine.trusted.RawInventory`)."""
    return digest([code, "csv", key, sizes.get(key, "")])


def tmdb_inputs(code: str, keys: Iterable[str], sizes: dict[str, str]) -> str:
    """The inputs fingerprint of a Trusted TMDB partition built from the Raw JSON files ``keys``."""
    return digest([code, "tmdb", *(f"{k}={sizes.get(k, '')}" for k in sorted(keys))])


def trusted_stamps(lake: Lake) -> dict[str, str]:
    """key -> stamp of every published Trusted object (one listing per Trusted table)."""
    return stamps(lake, (f"{t.folder}/" for t in TRUSTED_TABLES))


def refined_inputs(code: str, trusted: dict[str, str]) -> str:
    """The Refined tables' inputs fingerprint: the code and every published Trusted object
    (``trusted``: :func:`trusted_stamps`)."""
    return digest([code, "refined", *(f"{k}={v}" for k, v in sorted(trusted.items()))])


def unchanged(
    lake: Lake, prints: Fingerprints, tables: list[Table], day: str | None, inputs: str
) -> list[tuple[Table, Entry, ObjectInfo]] | None:
    """Each of ``tables`` (of partition ``day``) with its entry and published object, when every
    one was published from the same ``inputs`` and is still in the lake as published (so it may
    be skipped); else None."""
    found = listing(lake, {table.prefix(day) for table in tables})
    now = {key: info.stamp for key, info in found.items()}
    same = []
    for table in tables:
        key = table.data_key(day)
        entry = prints.unchanged(key, inputs, now)
        if entry is None:
            return None
        same.append((table, entry, found[key]))
    return same
