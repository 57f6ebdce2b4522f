"""Bounded history: the Refined stage reads a compacted "current" state, not every Trusted partition.

The star schema takes each title's latest snapshot (the rows of the latest ``dt`` holding it)
and each title's latest TMDB record. Those rows are all ``refine`` needs from the past: after a
Refined publish it keeps them as the **current state** — per input (``in_movies``,
``in_series``, ``in_tmdb_movies``, ``in_tmdb_series``), the rows whose ``dt`` is their title's
latest — in ``_moviedl/state/current/``, with ``_moviedl/state/current.json`` naming the Trusted
partitions (and their stamps) it covers.

The next refine reads the current state plus only the partitions published since, when

* every partition it covers is still in the lake with the same stamp (none re-refined, none
  deleted),
* every other partition is newer than all it covers (a back-fill of an older date rebuilds),
* it was made by the same code (:func:`moviedl.stages.refine.fingerprints.code_fingerprint`).

Otherwise refine reads every partition, as without it, and writes a new current state. The
result is the same either way — the latest snapshot of the union equals the latest snapshot of
(latest snapshots so far + new partitions), since a newer ``dt`` always wins — so 30 daily
snapshots cost about two days' reading, not thirty. When the state would be a single partition
as it is, the partition itself is named instead of writing a copy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviedl.engines.base import Engine
from moviedl.stages.refine.fingerprints import stamps
from moviedl.storage.lake import STATE_PREFIX, Lake

STATE_KEY = f"{STATE_PREFIX}/state/current.json"
CURRENT_PREFIX = f"{STATE_PREFIX}/state/current/"
FORMAT = 1

#: input view -> the views whose titles it competes with for "latest"
GROUPS = {
    "in_movies": ("in_movies", "in_series"),
    "in_series": ("in_movies", "in_series"),
    "in_tmdb_movies": ("in_tmdb_movies", "in_tmdb_series"),
    "in_tmdb_series": ("in_tmdb_movies", "in_tmdb_series"),
}


@dataclass
class Source:
    """One file an input view reads: a Trusted partition (``dt`` given) or a current-state file
    (rows carry their own ``dt``)."""

    key: str
    dt: str | None = None


@dataclass
class Plan:
    """What each input view reads, and whether a current state was used."""

    files: dict[str, list[Source]] = field(default_factory=dict)  # view -> sources
    covered: dict[str, str] = field(default_factory=dict)  # partition key -> stamp, all read
    from_state: int = 0  # partitions read through the current state instead of one by one
    note: str = ""


def plan(lake: Lake, code: str, partitions: dict[str, dict[str, list[str]]]) -> Plan:
    """What to read for ``partitions`` (view -> dt -> keys, every published Trusted partition)."""
    now = stamps(lake, {key.rsplit("/", 1)[0] + "/" for parts in partitions.values() for keys in parts.values() for key in keys})
    every = {key: now.get(key, "") for parts in partitions.values() for keys in parts.values() for key in keys}
    full = Plan(
        {view: [Source(key, day) for day, keys in parts.items() for key in keys] for view, parts in partitions.items()},
        every,
    )
    state = _load(lake)
    if state is None:
        return full
    covers: dict[str, str] = state["covers"]
    if state.get("code") != code or any(every.get(key) != stamp for key, stamp in covers.items()):
        full.note = "the compacted state is out of date (a partition was re-refined or removed): read every partition"
        return full
    files: dict[str, list[dict[str, Any]]] = state["files"]
    current = stamps(lake, [CURRENT_PREFIX]) | now
    if any(current.get(f["key"]) != f["stamp"] for entries in files.values() for f in entries):
        full.note = "the compacted state's files changed: read every partition"
        return full
    newest = max((key_dt(k) for k in covers), default="")
    chosen = Plan(covered=every, from_state=len(covers))
    for view, parts in partitions.items():
        sources = [Source(f["key"], f.get("dt")) for f in files.get(view, [])]
        for day, keys in parts.items():
            new = [k for k in keys if k not in covers]
            if new and day <= newest:  # an older date published after the state: rebuild
                full.note = f"{day} was published after later dates: read every partition"
                return full
            sources += [Source(k, day) for k in new]
        chosen.files[view] = sources
    if any(view not in partitions for view in files):
        return full
    return chosen


def key_dt(key: str) -> str:
    return key.split("/dt=", 1)[1].split("/", 1)[0] if "/dt=" in key else ""


def save(engine: Engine, lake: Lake, staged_path: Callable[[str], Path], code: str, used: Plan) -> None:
    """Keep the latest rows of each input view (registered over ``used``) as the new current
    state. Call after the Refined tables were published: the state never runs ahead of them."""
    files: dict[str, list[dict[str, Any]]] = {}
    for view, sources in used.files.items():
        if len(sources) <= 1:  # nothing to compact: name the file itself
            files[view] = [{"key": s.key, "dt": s.dt} for s in sources]
            continue
        group = " UNION ALL ".join(f"SELECT imdb_id, dt FROM {other}" for other in GROUPS[view])
        select = (f"SELECT v.* FROM {view} AS v JOIN (SELECT imdb_id, max(dt) AS dt FROM ({group}) AS g "
                  f"GROUP BY imdb_id) AS latest ON latest.imdb_id = v.imdb_id AND latest.dt = v.dt")
        key = f"{CURRENT_PREFIX}{view}.parquet"
        path = staged_path(key)
        engine.write_parquet(select, path)
        lake.publish_file(path, key)
        files[view] = [{"key": key, "dt": None}]
    keys = {f["key"] for entries in files.values() for f in entries}
    now = stamps(lake, {k.rsplit("/", 1)[0] + "/" for k in keys})
    for entries in files.values():
        for f in entries:
            f["stamp"] = now.get(f["key"], "")
    state = {"format": FORMAT, "code": code, "covers": used.covered, "files": files}
    lake.write_bytes(STATE_KEY, json.dumps(state, indent=1, sort_keys=True).encode())


def _load(lake: Lake) -> dict[str, Any] | None:
    if not lake.exists(STATE_KEY):
        return None
    try:
        state = json.loads(lake.read_bytes(STATE_KEY))
    except ValueError:
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        return None
    return state
