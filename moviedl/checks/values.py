"""Value checks on a dataset's rows: the rules every column must keep (ratings, years, accepted
values, IMDb ids), the rows that break them (the quarantine reasons refine records), and the
lake-level checks validate adds (fact covers trusted, TMDB coverage, freshness, quarantine share),
with ``checks.severity`` applied last (:func:`apply_severity`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import zip_longest

from moviedl.checks.audit import Dataset, _check, _samples
from moviedl.core.summary import MAX_SAMPLES, Check, Status
from moviedl.engines.base import Engine, ident, one, scalar

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


@dataclass(frozen=True)
class _Tally:
    """What one aggregation over a dataset counted for the value checks."""

    rows: int
    filled: dict[str, int]  # non-sparse column -> rows where it is not NULL
    broken: list[int]  # per rule of ``rules``: the rows that break it
    malformed: int  # imdb_id values that are not IMDb ids


def _tally(engine: Engine, view: str, ds: Dataset, rules: Sequence[Rule], filled: Sequence[str],
           params: dict[str, object]) -> _Tally:
    """One pass over ``view`` (one job on a distributed engine) counting everything the value
    checks ask: rows, each column's values, each rule's offending rows, malformed ids."""
    counts = ["count(*)", *(f"count({ident(c)})" for c in filled),
              *(f"count(*) FILTER (WHERE {r.bad})" for r in rules)]
    if "imdb_id" in ds.table.column_names:
        counts.append(f"count(*) FILTER (WHERE {_MALFORMED})")
    found = one(engine, f"SELECT {', '.join(counts)} FROM {view}", params or None)
    numbers = [int(n or 0) for n in found] if found else [0] * len(counts)
    rest = numbers[1 + len(filled):]
    return _Tally(numbers[0], dict(zip(filled, numbers[1:1 + len(filled)], strict=True)),
                  rest[:len(rules)], rest[len(rules)] if len(rest) > len(rules) else 0)


#: an ``imdb_id`` that is not ``tt`` and at least 7 digits (``$pattern``: :data:`IMDB_ID_PATTERN`)
_MALFORMED = "imdb_id IS NOT NULL AND NOT regexp_full_match(imdb_id, $pattern)"


def all_null_columns(ds: Dataset, tally: _Tally, rows: int | None = None) -> Check | None:
    """No column that should carry data is NULL on every row (a warning: the contract's
    ``sparse`` columns may be). Skipped for an empty dataset."""
    if not tally.filled or rows == 0 or not tally.rows:
        return None
    empty = [c for c, n in tally.filled.items() if not n]
    expected = "every non-sparse column has a value on some row"
    if empty:
        observed = f"NULL on all {tally.rows:,} rows: {', '.join(empty)}"
        return Check("columns carry data", ds.target, observed, Status.WARN, expected)
    return Check("columns carry data", ds.target, f"{len(tally.filled)} columns hold data", Status.PASS, expected)


def rule_checks(
    engine: Engine, view: str, ds: Dataset, rules: Sequence[Rule], tally: _Tally,
    bounds: Mapping[str, int],
) -> list[Check]:
    """``value ranges`` (ratings 0–10, counts ≥ 0, plausible years, end ≥ start) and ``accepted
    values`` (artist gender): the offending rows per rule (counted in ``tally``), with sample
    rows (a query per broken rule)."""
    found = []
    key = [c for c in ("imdb_id", *ds.table.primary_key) if c in ds.table.column_names][:2]
    for name in RULE_CHECKS:
        mine = [(r, n) for r, n in zip(rules, tally.broken, strict=True) if r.check == name]
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
                    dict(bounds) if "$min_year" in rule.bad else None,
                )
            ])
        # every broken rule shows its first rows before any rule shows more
        samples = [s for group in zip_longest(*per_rule) for s in group if s is not None]
        observed = "; ".join(f"{r.label}: {n:,} rows" for r, n in bad) or f"{len(mine)} rules hold"
        expected = "; ".join(r.label.replace(" outside ", " in ").replace(" < ", " ≥ ")
                             .replace(" not one of ", " one of ") for r, _ in mine)
        found.append(_check(name, ds, not bad, observed, expected, samples[:MAX_SAMPLES]))
    return found


def imdb_ids(engine: Engine, view: str, ds: Dataset, tally: _Tally) -> Check | None:
    """Every ``imdb_id`` is ``tt`` followed by at least 7 digits."""
    if "imdb_id" not in ds.table.column_names:
        return None
    bad = tally.malformed
    samples = _samples(engine, f"SELECT DISTINCT imdb_id FROM {view} WHERE {_MALFORMED} ORDER BY 1",
                       {"pattern": IMDB_ID_PATTERN}) if bad else []
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
    *,
    today: dt.date | None = None,
) -> list[Check]:
    """:func:`all_null_columns`, :func:`rule_checks` and :func:`imdb_ids` on a registered view,
    from one aggregation over it (plus sample queries for what fails)."""
    rules = rules_for(ds.table.column_names, severity)
    filled = [c.name for c in ds.table.columns if not c.sparse]
    bounds = year_bounds(today)
    params: dict[str, object] = {}
    if any("$min_year" in r.bad for r in rules):
        params.update(bounds)
    if "imdb_id" in ds.table.column_names:
        params["pattern"] = IMDB_ID_PATTERN
    tally = _tally(engine, view, ds, rules, filled, params)
    found = [all_null_columns(ds, tally, rows), *rule_checks(engine, view, ds, rules, tally, bounds),
             imdb_ids(engine, view, ds, tally)]
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
    warn = _percent(warn_share)
    levels = [] if warn_share >= fail_share else [
        "any quarantined row warns" if warn_share == 0 else f"warns above {warn}"
    ]
    levels.append("never fails" if fail_share >= 1 else f"fails above {_percent(fail_share)}")
    wanted = "no input row quarantined" if warn_share == 0 else f"at most {warn} of input rows quarantined"
    return Check("quarantine", target, observed, status, f"{wanted} ({', '.join(levels)})")


def _percent(share: float) -> str:
    """0.01 -> '1%', 0.125 -> '12.5%', 0.1 -> '10%' (no float noise, no needless decimals)."""
    return f"{share * 100:.6g}%"


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
