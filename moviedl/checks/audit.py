"""Audit checks on Parquet datasets against the contract: one implementation for every command.

``refine`` runs them on what it staged before publishing anything; ``validate`` runs the same
functions on what a lake holds (including data written by other tools). Each function takes an
:class:`~moviedl.engines.base.Engine` and a :class:`Dataset` (local Parquet files of one table or
partition) and returns :class:`~moviedl.core.summary.Check` objects carrying the observed value; none
raises for bad data. All work happens in the engine: Parquet footers for row counts, one
aggregate per question.

Check names are stable (``validate --format json`` documents them): ``readable``, ``not empty``,
``schema``, ``rows reconcile``, ``not null``, ``primary key``, ``unique``, ``foreign key``,
``parent covered``; and the value checks ``validate`` adds (:func:`moviedl.checks.values.value_checks`):
``columns carry data``, ``value ranges``, ``accepted values``, ``imdb id format``, ``fact covers
trusted``, ``tmdb coverage``, ``freshness``; and ``quarantine`` (the share of input rows set aside).
``checks.severity`` in the settings turns any of them into a warning, a failure, or off
(:func:`moviedl.checks.values.apply_severity`); failed checks carry up to five sample rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from moviedl.core.contract import Table
from moviedl.core.summary import MAX_SAMPLES, Check, Status
from moviedl.engines import parquet_concat
from moviedl.engines.base import Engine, ident, idents, one, scalar

MAX_FILES_NAMED = 3


@dataclass(frozen=True)
class Dataset:
    """The data of one table, or of one partition of a partitioned table, as local files."""

    table: Table
    files: tuple[str, ...]
    dt: str | None = None
    location: str = ""  # where the data lives, for messages (a lake URI)

    @property
    def target(self) -> str:
        return f"{self.table.name} dt={self.dt}" if self.dt else self.table.name

    @property
    def view_name(self) -> str:
        return "audit_" + re.sub(r"[^A-Za-z0-9_]", "_", self.target)

    def register(self, engine: Engine) -> str:
        """Create (or replace) a view over the files; returns its quoted name."""
        return engine.register_parquet(self.view_name, self.files)


@dataclass
class Reconciliation:
    """What went in, and what was dropped on purpose (counted), to match against rows out."""

    rows_in: int
    duplicates: int = 0
    quarantined: int = 0
    what: str = "rows in"  # how rows_in was obtained, for the message


@dataclass
class Audit:
    """The outcome of :func:`audit`: the checks, and the rows the files hold (None: unreadable)."""

    checks: list[Check] = field(default_factory=list)
    rows: int | None = None

    @property
    def passed(self) -> bool:
        return all(c.status is not Status.FAIL for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.FAIL]


def _check(
    name: str, ds: Dataset, ok: bool, observed: str, expected: str, samples: Sequence[str] = ()
) -> Check:
    return Check(
        name, ds.target, observed, Status.PASS if ok else Status.FAIL, expected,
        () if ok else tuple(samples),
    )


def _samples(engine: Engine, query: str, params: Mapping[str, object] | None = None) -> list[str]:
    """Up to :data:`MAX_SAMPLES` rows of ``query`` (a SELECT without LIMIT), each as one text."""
    rows = engine.rows(f"SELECT * FROM ({query}) LIMIT {MAX_SAMPLES}", params)
    return [", ".join("NULL" if v is None else str(v) for v in row) for row in rows]


def _name(path: str) -> str:
    return Path(path).name if len(Path(path).parts) < 3 else "/".join(Path(path).parts[-2:])


def readable(engine: Engine, ds: Dataset) -> tuple[Check, dict[str, int] | None]:
    """Every file is a Parquet file the engine can open; returns the row count of each file."""
    expected = "≥ 1 Parquet file, each readable"
    if not ds.files:
        where = f" in {ds.location}" if ds.location else ""
        return _check("readable", ds, False, f"no Parquet files{where}", expected), None
    rows: dict[str, int] = {}
    for path in ds.files:
        try:
            rows[path] = engine.parquet_rows(path)
        except engine.errors as exc:
            message = str(exc).splitlines()[0]
            return _check("readable", ds, False, f"{_name(path)}: {message}", expected), None
    return _check(
        "readable", ds, True, f"{len(rows)} file(s), {sum(rows.values()):,} rows", expected
    ), rows


def not_empty(ds: Dataset, file_rows: Mapping[str, int], *, input_rows: int | None = None) -> Check:
    """No file holds zero rows — unless the input itself was empty (``input_rows == 0``)."""
    total = sum(file_rows.values())
    if input_rows == 0:
        return _check(
            "not empty", ds, True, f"{total:,} rows (input empty)", "rows unless the input is empty"
        )
    empty = [path for path, rows in file_rows.items() if rows == 0]
    if empty:
        named = ", ".join(_name(p) for p in empty[:MAX_FILES_NAMED])
        more = f" and {len(empty) - MAX_FILES_NAMED} more" if len(empty) > MAX_FILES_NAMED else ""
        input_note = f" from {input_rows:,} input rows" if input_rows else ""
        observed = f"{total:,} rows{input_note}; zero-row file(s): {named}{more}"
        return _check("not empty", ds, False, observed, "≥ 1 row in every file")
    return _check("not empty", ds, True, f"{total:,} rows", "≥ 1 row in every file")


def schema(engine: Engine, ds: Dataset) -> Check:
    """Each file has exactly the contract's columns, in order, with the contract's types, every
    one optional (nullable): the written schema is the contract, for every engine and date."""
    expected_cols = list(ds.table.schema)
    expected = f"{len(expected_cols)} columns as in the contract"
    for path in ds.files:
        try:
            found = engine.parquet_schema(path)
        except engine.errors as exc:
            return _check(
                "schema", ds, False, f"{_name(path)}: {str(exc).splitlines()[0]}", expected
            )
        if found != expected_cols:
            return _check(
                "schema",
                ds,
                False,
                f"{_name(path)}: {schema_difference(found, expected_cols)}",
                expected,
            )
        required = required_columns(path)
        if required:
            return _check(
                "schema", ds, False,
                f"{_name(path)}: declared REQUIRED (not nullable) in the file: {', '.join(required)}; "
                "the contract has every column optional, in every file of every date and engine "
                "('moviedl refine --force' rewrites the files)",
                expected,
            )
    return _check("schema", ds, True, "as in the contract", expected)


def required_columns(path: str) -> list[str]:
    """The columns (or list items, ``genres[]``) a Parquet file declares REQUIRED, from its
    footer; [] when it cannot be read (the engine's own read said why, or will). Read without
    pyarrow, whose import would cost every refine and validate 0.05 s."""
    return parquet_concat.required_columns(path)


def schema_difference(found: Sequence[tuple[str, str]], expected: Sequence[tuple[str, str]]) -> str:
    """Say how a schema differs from the contract: missing/unexpected columns, wrong types, order."""
    if len(found) == 1 and "|" in found[0][0]:
        return (
            f"a single column named {found[0][0][:60]!r}...: the CSV was read with the wrong "
            "delimiter ('|' expected)"
        )
    have, want = dict(found), dict(expected)
    parts = []
    missing = [n for n in want if n not in have]
    unexpected = [n for n in have if n not in want]
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if unexpected:
        parts.append(f"unexpected {', '.join(unexpected)}")
    retyped = [
        f"{n} is {have[n]}, expected {t}" for n, t in want.items() if n in have and have[n] != t
    ]
    parts.extend(retyped)
    if not parts:
        for position, ((got, _), (wanted, _)) in enumerate(zip(found, expected, strict=False), 1):
            if got != wanted:
                parts.append(
                    f"column {position} is {got}, expected {wanted} (columns shifted or reordered)"
                )
                break
    return "; ".join(parts) or "differs from the contract"


def reconciles(ds: Dataset, rows_out: int, recon: Reconciliation) -> Check:
    """rows in = rows out + duplicates + quarantined."""
    accounted = rows_out + recon.duplicates + recon.quarantined
    observed = (
        f"{recon.what} {recon.rows_in:,} = out {rows_out:,} + duplicates {recon.duplicates:,} "
        f"+ quarantined {recon.quarantined:,}"
    )
    if accounted != recon.rows_in:
        observed = (
            observed.replace(" = ", " ≠ ", 1) + f" ({recon.rows_in - accounted:+,} unaccounted)"
        )
    return _check(
        "rows reconcile",
        ds,
        accounted == recon.rows_in,
        observed,
        "rows in = rows out + duplicates + quarantined",
    )


def not_null(engine: Engine, view: str, ds: Dataset) -> Check | None:
    """The contract's non-nullable columns (keys among them) hold no NULL."""
    columns = ds.table.not_null
    if not columns:
        return None
    counts = ", ".join(f"count(*) FILTER (WHERE {ident(c)} IS NULL)" for c in columns)
    found = one(engine, f"SELECT {counts} FROM {view}")
    bad = [f"{c}: {n:,} NULL" for c, n in zip(columns, found, strict=True) if n]
    return _check(
        "not null", ds, not bad, "; ".join(bad) or "no NULL", f"no NULL in {', '.join(columns)}"
    )


def _duplicates(
    engine: Engine, view: str, columns: Sequence[str]
) -> tuple[int, str, list[str]]:
    """(keys held by more than one row, a message with the extra rows, sample keys)."""
    cols = idents(list(columns))
    dupes = f"SELECT {cols}, count(*) AS n FROM {view} GROUP BY ALL HAVING count(*) > 1"
    found = one(engine, f"SELECT count(*), sum(n) - count(*) FROM ({dupes})")
    keys, extra = (int(found[0] or 0), int(found[1] or 0)) if found else (0, 0)
    samples = _samples(engine, f"SELECT {cols}, n AS rows FROM ({dupes}) ORDER BY ALL") if keys else []
    example = f", e.g. {samples[0]}" if samples else ""
    return keys, f"{extra:,} duplicate rows over {keys:,} key(s){example}", samples


def primary_key(engine: Engine, view: str, ds: Dataset) -> Check | None:
    """No two rows share a primary key."""
    key = ds.table.primary_key
    if not key:
        return None
    dupes, observed, samples = _duplicates(engine, view, key)
    return _check(
        "primary key", ds, dupes == 0, observed if dupes else "unique",
        f"({', '.join(key)}) unique", samples,
    )


def unique(engine: Engine, view: str, ds: Dataset) -> list[Check]:
    """Further unique column sets (``imdb_id`` of DimFilmes, ``genre`` of DimGenero)."""
    found = []
    for columns in ds.table.unique:
        dupes, observed, samples = _duplicates(engine, view, columns)
        found.append(
            _check(
                "unique",
                ds,
                dupes == 0,
                observed if dupes else "unique",
                f"({', '.join(columns)}) unique",
                samples,
            )
        )
    return found


def foreign_keys(
    engine: Engine, view: str, ds: Dataset, parents: Mapping[str, Dataset]
) -> list[Check]:
    """Every foreign key resolves in its parent; a ``total`` key also covers every parent row."""
    found = []
    for fk in ds.table.foreign_keys:
        label = f"{ds.table.name}.({', '.join(fk.columns)}) → {fk.parent}.({', '.join(fk.parent_columns)})"
        parent = parents.get(fk.parent)
        if parent is None:
            found.append(_check("foreign key", ds, False, f"{fk.parent} is not available", label))
            continue
        parent_view = parent.register(engine)
        on = " AND ".join(
            f"c.{ident(a)} = p.{ident(b)}"
            for a, b in zip(fk.columns, fk.parent_columns, strict=True)
        )
        some_child = " AND ".join(f"c.{ident(a)} IS NOT NULL" for a in fk.columns)
        child_cols = ", ".join(f"c.{ident(a)}" for a in fk.columns)
        orphan_rows = f"FROM {view} AS c ANTI JOIN {parent_view} AS p ON {on} WHERE {some_child}"
        if fk.total:  # one join answers both: children without a parent, parents without a child
            marked = (f"(SELECT *, true AS moviedl_child FROM {view}) AS c FULL JOIN "
                      f"(SELECT *, true AS moviedl_parent FROM {parent_view}) AS p ON {on}")
            orphans, uncovered = (int(n or 0) for n in one(
                engine,
                f"SELECT count(*) FILTER (WHERE p.moviedl_parent IS NULL AND {some_child}), "
                f"count(*) FILTER (WHERE c.moviedl_child IS NULL) FROM {marked}",
            ))
        else:
            orphans, uncovered = scalar(engine, f"SELECT count(*) {orphan_rows}"), 0
        samples = (
            _samples(engine, f"SELECT DISTINCT {child_cols} {orphan_rows} ORDER BY ALL") if orphans else []
        )
        observed = (
            f"{orphans:,} row(s) with no {fk.parent} row, e.g. {samples[0]}" if orphans else "all resolve"
        )
        found.append(_check("foreign key", ds, orphans == 0, observed, label, samples))
        if fk.total:
            observed = (
                f"{uncovered:,} {fk.parent} row(s) missing from {ds.table.name}"
                if uncovered
                else "all covered"
            )
            found.append(
                _check(
                    "parent covered",
                    ds,
                    uncovered == 0,
                    observed,
                    f"every {fk.parent}.({', '.join(fk.parent_columns)}) appears in {ds.table.name}",
                )
            )
    return found


def audit(
    engine: Engine,
    ds: Dataset,
    *,
    input_rows: int | None = None,
    reconciliation: Reconciliation | None = None,
    parents: Mapping[str, Dataset] | None = None,
) -> Audit:
    """Run every check that applies to ``ds``: readable, not empty, schema, rows reconcile, not
    null, primary key, unique, foreign keys. Data checks are skipped once the files cannot be
    read or do not have the contract's columns (their answers would mean nothing)."""
    result = Audit()
    check, file_rows = readable(engine, ds)
    result.checks.append(check)
    if file_rows is None:
        return result
    result.rows = sum(file_rows.values())
    result.checks.append(not_empty(ds, file_rows, input_rows=input_rows))
    check = schema(engine, ds)
    result.checks.append(check)
    if check.status is Status.FAIL:
        return result
    if reconciliation is not None:
        result.checks.append(reconciles(ds, result.rows, reconciliation))
    view = ds.register(engine)
    for found in (not_null(engine, view, ds), primary_key(engine, view, ds)):
        if found is not None:
            result.checks.append(found)
    result.checks.extend(unique(engine, view, ds))
    if ds.table.foreign_keys:
        result.checks.extend(foreign_keys(engine, view, ds, parents or {}))
    return result
