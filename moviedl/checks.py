"""Audit checks on Parquet datasets against the contract: one implementation for every command.

``refine`` runs them on what it staged before publishing anything; ``validate`` runs the same
functions on what a lake holds (including data written by other tools). Each function takes an
:class:`~moviedl.engine.Engine` and a :class:`Dataset` (local Parquet files of one table or
partition) and returns :class:`~moviedl.summary.Check` objects carrying the observed value; none
raises for bad data. All work happens in the engine: Parquet footers for row counts, one
aggregate per question.

Check names are stable (``validate --format json`` documents them): ``readable``, ``not empty``,
``schema``, ``rows reconcile``, ``not null``, ``primary key``, ``unique``, ``foreign key``,
``parent covered``; and the value checks ``validate`` adds (:func:`value_checks`):
``columns carry data``, ``value ranges``, ``accepted values``, ``imdb id format``, ``fact covers
trusted``, ``tmdb coverage``, ``freshness``; and ``quarantine`` (the share of input rows set aside).
``checks.severity`` in the settings turns any of them into a warning, a failure, or off
(:func:`apply_severity`); failed checks carry up to five sample rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from pathlib import Path

from moviedl.contract import Table
from moviedl.engine import Engine, ident, idents, one, scalar
from moviedl.summary import MAX_SAMPLES, Check, Status

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


# --- the checks ------------------------------------------------------------------------------


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
    """Each file has exactly the contract's columns, in order, with the contract's types."""
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
    return _check("schema", ds, True, "as in the contract", expected)


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
        orphans = scalar(engine, f"SELECT count(*) {orphan_rows}")
        samples = (
            _samples(engine, f"SELECT DISTINCT {child_cols} {orphan_rows} ORDER BY ALL") if orphans else []
        )
        observed = (
            f"{orphans:,} row(s) with no {fk.parent} row, e.g. {samples[0]}" if orphans else "all resolve"
        )
        found.append(_check("foreign key", ds, orphans == 0, observed, label, samples))
        if fk.total:
            uncovered = scalar(
                engine, f"SELECT count(*) FROM {parent_view} AS p ANTI JOIN {view} AS c ON {on}"
            )
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


# --- everything, in order ---------------------------------------------------------------------


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


# --- value checks (validate) --------------------------------------------------------------------

IMDB_ID_PATTERN = "tt[0-9]{7,}"
MIN_YEAR = 1800  # the oldest plausible release or birth year
YEARS_AHEAD = 10  # announced titles: release years up to this many years from now


@dataclass(frozen=True)
class Rule:
    """A row rule: ``bad`` is an SQL predicate over ``columns`` true for an offending row (NULL is
    never offending). ``$min_year``/``$max_year`` stand for the plausible year bounds. ``check`` is
    the check that reports it (``value ranges`` or ``accepted values``).

    The same rules decide what ``refine`` quarantines (:func:`rule_problems`) and what the
    ``value ranges``/``accepted values`` checks count (:func:`rule_checks`), so a lake refine
    published always passes them."""

    check: str
    label: str
    columns: tuple[str, ...]
    bad: str


def _ratings(column: str) -> Rule:
    return Rule("value ranges", f"{column} outside 0–10", (column,), f"NOT ({ident(column)} BETWEEN 0 AND 10)")


def _non_negative(column: str) -> Rule:
    return Rule("value ranges", f"{column} < 0", (column,), f"{ident(column)} < 0")


def _year(column: str) -> Rule:
    return Rule(
        "value ranges",
        f"{column} outside {MIN_YEAR}–now+{YEARS_AHEAD}",
        (column,),
        f"NOT ({ident(column)} BETWEEN $min_year AND $max_year)",
    )


def _not_before(later: str, earlier: str) -> Rule:
    return Rule("value ranges", f"{later} < {earlier}", (later, earlier), f"{ident(later)} < {ident(earlier)}")


#: ``generoArtista`` as the challenge files spell it (actor/actress) and as IMDb-derived samples
#: do (M/F); compared case-insensitively after trimming.
ARTIST_GENDERS = ("actor", "actress", "M", "F")


def _accepted(column: str, values: Sequence[str]) -> Rule:
    listed = ", ".join(f"'{v.lower()}'" for v in values)
    return Rule(
        "accepted values", f"{column} not one of {'/'.join(values)}", (column,),
        f"lower(trim({ident(column)})) NOT IN ({listed})",
    )


RULES: tuple[Rule, ...] = (
    *(_ratings(c) for c in ("imdb_rating", "vote_average", "tmdb_vote_average")),
    *(
        _non_negative(c)
        for c in (
            "imdb_votes", "vote_count", "tmdb_vote_count", "runtime_minutes", "runtime",
            "popularity", "tmdb_popularity", "budget", "revenue", "number_of_seasons",
            "number_of_episodes", "artist_count",
        )
    ),
    *(_year(c) for c in ("release_year", "end_year", "birth_year", "death_year")),
    _not_before("end_year", "release_year"),
    _not_before("death_year", "birth_year"),
    _not_before("last_air_date", "first_air_date"),
    _accepted("artist_gender", ARTIST_GENDERS),
    _accepted("gender", ARTIST_GENDERS),
)
RULE_CHECKS = tuple(dict.fromkeys(r.check for r in RULES))


def rules_for(columns: Sequence[str], severity: Mapping[str, str] | None = None) -> list[Rule]:
    """The rules that apply to a table with ``columns``, less those whose check is ``off``."""
    names = set(columns)
    off = {name for name, level in (severity or {}).items() if level == "off"}
    return [r for r in RULES if all(c in names for c in r.columns) and r.check not in off]


def year_bounds(today: dt.date | None = None) -> dict[str, int]:
    year = (today or dt.datetime.now(dt.UTC).date()).year
    return {"min_year": MIN_YEAR, "max_year": year + YEARS_AHEAD}


def rule_problems(rules: Sequence[Rule], today: dt.date | None = None, row: str = "") -> str:
    """An SQL expression over the rules' columns: why a row breaks ``rules`` ('; '-joined), or
    NULL. The year bounds are inlined (they are numbers), so it can sit in a macro or UPDATE;
    ``row`` qualifies the columns (``r`` for a macro over a row struct: ``r."birth_year"``)."""
    bounds = year_bounds(today)
    prefix = f"{row}." if row else ""

    def inline(predicate: str) -> str:
        for column in {c for r in rules for c in r.columns}:
            predicate = predicate.replace(ident(column), prefix + ident(column))
        return predicate.replace("$min_year", str(bounds["min_year"])).replace(
            "$max_year", str(bounds["max_year"])
        )

    parts = []
    for rule in rules:
        shown = " || ', ' || ".join(
            f"'{c} ' || coalesce(CAST({prefix}{ident(c)} AS VARCHAR), 'NULL')" for c in rule.columns
        )
        parts.append(f"CASE WHEN {inline(rule.bad)} THEN '{rule.label} (' || {shown} || ')' END")
    if not parts:
        return "CAST(NULL AS VARCHAR)"
    return f"nullif(concat_ws('; ', {', '.join(parts)}), '')"


def all_null_columns(
    engine: Engine, view: str, ds: Dataset, rows: int | None = None
) -> Check | None:
    """No column that should carry data is NULL on every row (a warning: the contract's
    ``sparse`` columns may be). Skipped for an empty dataset."""
    columns = [c.name for c in ds.table.columns if not c.sparse]
    if not columns or rows == 0:
        return None
    counts = one(engine, f"SELECT count(*), {', '.join(f'count({ident(c)})' for c in columns)} FROM {view}")
    if not counts or not counts[0]:
        return None
    empty = [c for c, n in zip(columns, counts[1:], strict=True) if not n]
    expected = "every non-sparse column has a value on some row"
    if empty:
        observed = f"NULL on all {counts[0]:,} rows: {', '.join(empty)}"
        return Check("columns carry data", ds.target, observed, Status.WARN, expected)
    return Check("columns carry data", ds.target, f"{len(columns)} columns hold data", Status.PASS, expected)


def rule_checks(
    engine: Engine,
    view: str,
    ds: Dataset,
    *,
    today: dt.date | None = None,
    severity: Mapping[str, str] | None = None,
) -> list[Check]:
    """``value ranges`` (ratings 0–10, counts ≥ 0, plausible years, end ≥ start) and ``accepted
    values`` (artist gender): the offending rows per rule, with sample rows."""
    rules = rules_for(ds.table.column_names, severity)
    if not rules:
        return []
    bounds = year_bounds(today)
    counts = one(
        engine,
        f"SELECT {', '.join(f'count(*) FILTER (WHERE {r.bad})' for r in rules)} FROM {view}",
        bounds if any("$min_year" in r.bad for r in rules) else None,
    )
    found = []
    key = [c for c in ("imdb_id", *ds.table.primary_key) if c in ds.table.column_names][:2]
    for name in RULE_CHECKS:
        mine = [(r, n) for r, n in zip(rules, counts, strict=True) if r.check == name]
        if not mine:
            continue
        bad = [(r, n) for r, n in mine if n]
        per_rule: list[list[str]] = []
        for rule, _n in bad:
            columns = list(dict.fromkeys([*key, *rule.columns]))
            shown = " || ', ' || ".join(
                f"'{c}=' || coalesce(CAST({ident(c)} AS VARCHAR), 'NULL')" for c in columns
            )
            per_rule.append([
                f"{rule.label}: {row}"
                for row in _samples(
                    engine, f"SELECT {shown} FROM {view} WHERE {rule.bad}",
                    bounds if "$min_year" in rule.bad else None,
                )
            ])
        # every broken rule shows its first rows before any rule shows more
        samples = [s for group in zip_longest(*per_rule) for s in group if s is not None]
        observed = "; ".join(f"{r.label}: {n:,} rows" for r, n in bad) or f"{len(mine)} rules hold"
        expected = "; ".join(r.label.replace(" outside ", " in ").replace(" < ", " ≥ ")
                             .replace(" not one of ", " one of ") for r, _ in mine)
        found.append(_check(name, ds, not bad, observed, expected, samples[:MAX_SAMPLES]))
    return found


def imdb_ids(engine: Engine, view: str, ds: Dataset) -> Check | None:
    """Every ``imdb_id`` is ``tt`` followed by at least 7 digits."""
    if "imdb_id" not in ds.table.column_names:
        return None
    malformed = (
        f"FROM {view} WHERE imdb_id IS NOT NULL AND NOT regexp_full_match(imdb_id, $pattern)"
    )
    params = {"pattern": IMDB_ID_PATTERN}
    bad = scalar(engine, f"SELECT count(*) {malformed}", params)
    samples = _samples(engine, f"SELECT DISTINCT imdb_id {malformed} ORDER BY 1", params) if bad else []
    observed = f"{bad:,} malformed id(s), e.g. {samples[0]!r}" if bad else "well formed"
    return _check(
        "imdb id format", ds, not bad, observed, f"imdb_id matches {IMDB_ID_PATTERN}", samples
    )


def value_checks(
    engine: Engine,
    view: str,
    ds: Dataset,
    rows: int | None = None,
    severity: Mapping[str, str] | None = None,
) -> list[Check]:
    """:func:`all_null_columns`, :func:`rule_checks` and :func:`imdb_ids` on a registered view."""
    found = [all_null_columns(engine, view, ds, rows),
             *rule_checks(engine, view, ds, severity=severity), imdb_ids(engine, view, ds)]
    return [c for c in found if c is not None]


def fact_covers_trusted(
    engine: Engine, target: str, fact: str, films: str, genres: str, trusted: str
) -> Check:
    """Every (title, genre) pair of ``trusted`` (a view of ``imdb_id, genre_key``) is a row of the
    fact ``fact`` (joined to the dimensions ``films`` and ``genres`` by key)."""
    absent = (
        f"FROM {trusted} AS t "
        f"ANTI JOIN (SELECT d.imdb_id, norm(g.genre) AS genre_key FROM {fact} AS f "
        f"JOIN {films} AS d USING (film_id) JOIN {genres} AS g USING (genre_id)) AS r "
        "ON t.imdb_id = r.imdb_id AND t.genre_key = r.genre_key"
    )
    missing = scalar(engine, f"SELECT count(*) {absent}")
    total = scalar(engine, f"SELECT count(*) FROM {trusted}")
    samples = _samples(engine, f"SELECT t.imdb_id, t.genre_key {absent} ORDER BY ALL") if missing else []
    observed = (
        f"{missing:,} of {total:,} pairs missing, e.g. ({samples[0]})"
        if missing else f"all {total:,} pairs present"
    )
    return Check(
        "fact covers trusted",
        target,
        observed,
        Status.FAIL if missing else Status.PASS,
        "every (title, genre) of the latest Trusted snapshot has a row",
        tuple(samples),
    )


def tmdb_coverage(target: str, enriched: int, titles: int, min_share: float) -> Check:
    """The share of titles with TMDB data; a warning below ``min_share``."""
    share = enriched / titles if titles else 0.0
    observed = f"{enriched:,} of {titles:,} titles ({share:.0%})"
    status = Status.PASS if share >= min_share else Status.WARN
    return Check("tmdb coverage", target, observed, status, f"≥ {min_share:.0%} of titles enriched")


def freshness(target: str, latest: dt.date | None, today: dt.date, max_age_days: int) -> Check:
    """The latest partition is at most ``max_age_days`` old; a warning otherwise."""
    expected = f"latest dt ≤ {max_age_days} day(s) old"
    if latest is None:
        return Check("freshness", target, "no partition", Status.WARN, expected)
    age = (today - latest).days
    status = Status.PASS if age <= max_age_days else Status.WARN
    return Check("freshness", target, f"latest dt={latest.isoformat()}, {age} day(s) old", status, expected)


def quarantine_share(
    target: str, quarantined: int, rows_in: int, warn_share: float, fail_share: float
) -> Check:
    """The share of a table's input rows set aside: a warning above ``warn_share``, a failure
    above ``fail_share`` (so many untypeable rows usually mean a misparsed or wrong file)."""
    share = quarantined / rows_in if rows_in else 0.0
    observed = f"{quarantined:,} of {rows_in:,} rows ({share:.1%})"
    status = Status.FAIL if share > fail_share else Status.WARN if share > warn_share else Status.PASS
    return Check(
        "quarantine", target, observed, status,
        f"≤ {warn_share:.1%} quarantined (warn), ≤ {fail_share:.1%} (fail)",
    )


def apply_severity(checks: Sequence[Check], severity: Mapping[str, str]) -> list[Check]:
    """The checks as ``checks.severity`` wants them: ``off`` drops a check, ``warn`` turns its
    failure into a warning, ``error`` turns its warning into a failure."""
    found = []
    for check in checks:
        level = severity.get(check.name)
        if level == "off":
            continue
        if level == "warn" and check.status is Status.FAIL:
            check = replace(check, status=Status.WARN)
        elif level == "error" and check.status is Status.WARN:
            check = replace(check, status=Status.FAIL)
        found.append(check)
    return found
