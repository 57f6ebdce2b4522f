"""Checks of the lake as a whole that ``refine`` and ``validate`` both make.

* :func:`freshness`: the latest Trusted ``dt`` measured against today (UTC), never a negative
  age — a ``dt`` in the future is said so (``moviedl.checks.values.freshness`` words the
  usual case).
* :func:`refined_behind`: whether the published Refined tables were built from other Trusted
  data than is published now — what a refine stopped between its Trusted and its Refined publish
  (a kill, a failed Refined audit, a full disk) or ``refine --stage trusted`` leaves; then the
  Refined reconciliations with Trusted fail until the next refine, and :func:`refined_behind_check`
  says why first.
"""

from __future__ import annotations

import datetime as dt

from moviedl.checks import values
from moviedl.core.contract import REFINED_TABLES, TRUSTED_TABLES
from moviedl.core.summary import Check, Status
from moviedl.stages.refine import fingerprints
from moviedl.storage.lake import Lake

#: a dt one day ahead of UTC is one that ``--date`` accepts (a time zone ahead of UTC)
ACCEPTED_AHEAD = dt.timedelta(days=1)
REFINED_BEHIND = "refined up to date"
#: the checks that fail as a consequence when Refined is behind Trusted
CONSEQUENCES = {("rows reconcile", "dim_filmes"), ("fact covers trusted", "fato_filme")}


def freshness(target: str, latest: dt.date | None, max_age_days: int, today: dt.date | None = None) -> Check:
    """The latest partition ``latest`` is at most ``max_age_days`` old on ``today`` (default:
    today, UTC); a warning otherwise. A ``latest`` after today is its own observation, never a
    negative age: it passes when ``--date`` could have given it (one day ahead: a time zone ahead
    of UTC), and warns further ahead (a wrong clock, or a date no moviedl command accepts)."""
    today = today or dt.datetime.now(dt.UTC).date()
    if latest is None or latest <= today:
        return values.freshness(target, latest, today, max_age_days)
    ahead = (latest - today).days
    usual = values.freshness(target, today, today, max_age_days)  # its name and expected text
    return Check(
        usual.name, target,
        f"latest dt={latest.isoformat()} is in the future ({ahead} day(s) after today, "
        f"{today.isoformat()} UTC)",
        Status.PASS if latest - today <= ACCEPTED_AHEAD else Status.WARN,
        usual.expected,
    )


def refined_behind(lake: Lake) -> list[str]:
    """The Trusted partitions (``table dt=...``) published, replaced or removed since the
    published Refined tables were built; [] when Refined is current, or when that cannot be
    told (Refined not recorded by refine, or replaced since by something else)."""
    prints = fingerprints.Fingerprints.load(lake)
    if not prints.refined_from:
        return []
    refined = fingerprints.stamps(lake, {t.prefix() for t in REFINED_TABLES})
    for table in REFINED_TABLES:
        entry = prints.entries.get(table.data_key())
        if entry is None or refined.get(table.data_key()) != entry.stamp:
            return []  # not the tables refine recorded: nothing to compare with
    now = fingerprints.trusted_stamps(lake)
    then = prints.refined_from
    changed = sorted({k for k in now.keys() | then.keys() if now.get(k) != then.get(k)})
    return [_partition(key, key in now, key in then) for key in changed]


def _partition(key: str, now: bool, then: bool) -> str:
    name = next((t.name for t in TRUSTED_TABLES if key.startswith(f"{t.folder}/")), key)
    day = key.split("/dt=", 1)[1].split("/", 1)[0] if "/dt=" in key else ""
    label = f"{name} dt={day}" if day else name
    return label if now and then else f"{label} (new)" if now else f"{label} (removed)"


def refined_behind_check(target: str, changed: list[str]) -> Check:
    """The failing check for :func:`refined_behind`'s ``changed`` partitions."""
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return Check(
        REFINED_BEHIND, target,
        f"Refined is older than Trusted: it was built before {shown} (an interrupted or failed "
        "refine, or refine --stage trusted); run 'moviedl refine'",
        Status.FAIL,
        "Refined built from the Trusted partitions published now",
    )
