"""moviedl's SQL for Spark: sqlglot's DuckDB -> Spark translation, plus the few rules it cannot know.

The SQL refine hands an engine is written once, in DuckDB's dialect (the files of ``moviedl/sql/``
and the queries :mod:`moviedl.checks.audit`, :mod:`moviedl.stages.refine.trusted` and :mod:`moviedl.stages.refine.star_schema`
build). :class:`Translator` turns each statement into Spark SQL with ``sqlglot`` (parse as DuckDB,
write as Spark) and applies these rules, each for a DuckDB construct sqlglot leaves alone or
translates to Spark text that means something else:

* ``CREATE [OR REPLACE] TEMP MACRO name(a, b) AS expr`` is kept by the translator, not sent to
  Spark: later statements get the macro's expression inlined (arguments substituted), as DuckDB
  expands macros. A macro parameter used as a row (``r."birth_year"`` with ``csv_row_problems(typed)``)
  becomes the argument's relation (``typed.birth_year``).
* ``trim``/``lower``/``regexp_full_match``/``nfc_normalize`` get DuckDB's meaning: ``trim``
  removes Unicode space separators (Spark: ASCII spaces only), ``lower`` maps each code point on
  its own (Spark's whole-string mapping turns a final 'Σ' into 'ς' and 'İ' into two code points),
  ``regexp_full_match`` anchors the pattern at both ends (``\\z``: Java's ``$`` also matches
  before a final newline), ``nfc_normalize`` is ICU's NFC (Spark has no such function).
* ``TRY_CAST(text AS TIMESTAMPTZ)`` types only the ISO spellings both engines read alike
  (:data:`TIMESTAMP_PATTERN`; Spark's cast would also take '2024'), and refuses (stops the
  statement with a :data:`REFUSED` error) on other text DuckDB may read as one ('2024/05/01').
* ``CAST(x AS VARCHAR)`` refuses a double Spark would write in E notation where DuckDB writes
  it positionally (a rating of 12345678 in a quarantine reason).
* Several ``unnest(list)`` in one ``SELECT`` (DuckDB zips them) become one
  ``inline(arrays_zip(...))``; Spark allows one generator per ``SELECT``.

Statements are classified (:class:`Statement`) so the engine can run what Spark SQL has no
statement for: ``CREATE TEMP TABLE`` (a materialised temporary view), ``UPDATE`` of such a table,
``DROP TABLE``/``DROP VIEW`` of them. Files of ``moviedl/sql/`` that sqlglot cannot translate
have a Spark text of their own (``<name>.spark.sql``, chosen by :func:`moviedl.engines.base.sql_for`);
it is read in sqlglot's Spark dialect and gets the same macro and function rules, so one macro
mechanism serves both kinds of file.

This module needs sqlglot only (not Spark): its rules are tested without a JVM.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

#: What a refusal's message starts with (raise_error): the engine turns it into an error that
#: names the difference and sends the user to the DuckDB engine.
REFUSED = "moviedl refused: "
#: DuckDB's ``trim`` removes the Unicode space separators (category Zs) at both ends.
_ZS = " \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
#: The engine's own macros, in Spark SQL: what DuckDB functions mean, written for Spark.
#: Their bodies are not rewritten by the rules (``lower`` inside ``duck_lower`` is Spark's).
BUILTIN_MACROS = {
    "duck_trim": (("s",), f"regexp_replace(s, '^[{_ZS}]+|[{_ZS}]+\\\\z', '')"),
    "duck_full_match": (("s", "p"), "s RLIKE concat('^(?:', p, ')\\\\z')"),
    # text DuckDB's date/timestamp casts may read (3 numbers with - / or space between them,
    # infinity, epoch) where Spark's read differs: the engine refuses rather than type it otherwise
    "duck_date_like": (
        ("s",), "s RLIKE '(?i)^\\\\s*(-?[0-9]+[-/ ][0-9]+[-/ ][0-9]+.*|-?infinity|epoch)\\\\s*\\\\z'",
    ),
    # a number as text: Spark writes a double under 0.001 or from 1e7 in E notation (1.0E-4,
    # 1.23456789E7), DuckDB positionally up to 1e16 (0.0001, 12345678.9); between, both write
    # the shortest text that reads back. Where they would differ, refuse.
    "duck_text": (
        ("x",),
        "CASE WHEN typeof(x) IN ('double', 'float') AND CAST(x AS STRING) RLIKE '[0-9]E|NaN|Infinity' "
        f"THEN raise_error(concat('{REFUSED}the number ', CAST(x AS STRING), "
        "' would be written otherwise than DuckDB writes it')) ELSE CAST(x AS STRING) END",
    ),
    "refuse_date": (
        ("s", "what"),
        f"raise_error(concat('{REFUSED}', what, ' \\'', s, '\\' is written otherwise than ISO "
        "(YYYY-MM-DD[THH:MM:SS][Z|+HH:MM]): DuckDB reads it, Spark would not read it the same'))",
    ),
}
#: ``lower`` as DuckDB's: each code point's own lower case. Spark's (ICU's) whole-string lower
#: case differs from that in two places only, both turned off first: a final 'Σ' becomes 'ς',
#: and 'İ' becomes two code points (i + combining dot).
LOWER = "lower(replace(replace(s, 'İ', 'i'), 'Σ', 'σ'))"
#: The timestamps both engines read alike (``TRY_CAST(text AS TIMESTAMPTZ)``): an ISO date,
#: optionally a time (seconds, up to 6 decimals) and a zone offset. Spark's cast also
#: takes '2024' or '2024-05', DuckDB's '2024/05/01' or a zone name; neither is typed here.
TIMESTAMP_PATTERN = (
    "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?)?"
    "(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"
)
#: ``nfc_normalize``: ICU's NFC composition (Spark 4 ships ICU4J); without ICU, the Python
#: UDF the engine registers under this name.
ICU_NFC = "CASE WHEN s IS NOT NULL THEN reflect('com.ibm.icu.text.Normalizer', 'compose', s, false) END"

_MACRO = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+MACRO\s+(\w+)\s*\(([^)]*)\)\s+AS\s+(.*?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_TEMP_TABLE = re.compile(
    r"^\s*CREATE\s+(OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+(TABLE|VIEW)\s+(\"?)(\w+)\3\s+AS\s+(.*?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_MAX_DEPTH = 20  # macros calling macros: deeper means a cycle


class TranslationError(ValueError):
    """A statement the Spark engine cannot run (a construct without a rule)."""


@dataclass(frozen=True)
class Macro:
    params: tuple[str, ...]
    body: exp.Expr


@dataclass
class Statement:
    """One statement, ready for Spark. ``kind``: ``query`` (``sql``), ``table``/``view``
    (``name`` AS ``sql``), ``drop`` (``name``, ``if_exists``), ``update`` (``name``: set
    ``column`` to ``sql`` — a CASE keeping the old value where the WHERE does not hold), or
    ``macro`` (nothing to run). ``params``: the ``:named`` parameters ``sql`` uses."""

    kind: str
    sql: str = ""
    name: str = ""
    column: str = ""
    if_exists: bool = False
    params: tuple[str, ...] = ()
    #: table functions the engine provides: placeholder view name -> (function, parameter)
    readers: dict[str, tuple[str, str]] = field(default_factory=dict)


#: Table functions of the Spark SQL files that the engine implements (reading local files).
READERS = ("read_lines", "read_json_records")


class Translator:
    """DuckDB (or Spark) SQL text -> :class:`Statement` objects Spark runs; keeps the macros."""

    def __init__(self, icu: bool = True, variant: bool = True) -> None:
        """``icu``: ICU4J is on Spark's class path (``nfc_normalize`` is ICU's). ``variant``:
        Spark has the VARIANT JSON functions (4.0 and later); without, :func:`without_variant`
        rewrites their uses into the engine's functions (:data:`JSON_FUNCTIONS`)."""
        self.variant = variant
        self.macros: dict[str, Macro] = {}
        builtin = {**BUILTIN_MACROS, "duck_lower": (("s",), LOWER)}
        if icu:
            builtin["nfc_normalize"] = (("s",), ICU_NFC)
        self._builtin: dict[str, Macro] = {
            name: Macro(params, sqlglot.parse_one(body, read="spark"))
            for name, (params, body) in builtin.items()
        }
        self._readers = 0

    # --- statements --------------------------------------------------------------------------

    def script(self, text: str, dialect: str) -> list[Statement]:
        """Every statement of an SQL file (each ends with ``;`` at the end of a line)."""
        return [self.statement(s, dialect) for s in split_script(text)]

    def statements(self, text: str, dialect: str = "duckdb") -> list[Statement]:
        """The statements of a text that may hold several on a line (``DROP TABLE a; DROP TABLE b``)."""
        return [self.statement(s, dialect) for s in split_text(text)]

    def statement(self, text: str, dialect: str = "duckdb") -> Statement:
        text = strip_comments(text)
        if match := _MACRO.match(text):
            name, params, body = match.groups()
            names = tuple(p.strip().lower() for p in params.split(",") if p.strip())
            parsed = self._semantics(_parse(body, dialect))
            self.macros[name.lower()] = Macro(names, parsed)
            return Statement("macro", name=name.lower())
        if match := _TEMP_TABLE.match(text):
            _replace, kind, _q, name, select = match.groups()
            return self._select(kind.lower(), select, dialect, name=name)
        tree = _parse(text, dialect)
        if isinstance(tree, exp.Drop):
            tables = tree.args.get("tables") or ([tree.this] if tree.this is not None else [])
            if len(tables) != 1 or not tables[0].name:
                raise TranslationError(f"DROP: one table or view at a time: {text[:80]}")
            return Statement("drop", name=tables[0].name, if_exists=bool(tree.args.get("exists")))
        if isinstance(tree, exp.Update):
            return self._update(tree)
        return self._finish("query", tree)

    def expression(self, text: str, dialect: str = "duckdb") -> str:
        """One expression in Spark SQL (for tests and the engine's own use)."""
        return self._finish("query", _parse(text, dialect)).sql

    def _select(self, kind: str, select: str, dialect: str, *, name: str) -> Statement:
        return self._finish(kind, _parse(select, dialect), name=name)

    def _update(self, tree: exp.Update) -> Statement:
        sets = tree.expressions
        if len(sets) != 1 or not isinstance(sets[0], exp.EQ):
            raise TranslationError("UPDATE: the Spark engine updates one column at a time")
        column = sets[0].this.name
        value = sets[0].expression
        where = tree.args.get("where")
        new = value if where is None else exp.Case(
            ifs=[exp.If(this=where.this, true=value)], default=exp.column(column)
        )
        statement = self._finish("update", new, name=tree.this.name)
        statement.column = column
        return statement

    def _finish(self, kind: str, tree: exp.Expr, *, name: str = "") -> Statement:
        tree = self._expand(self._semantics(tree))
        if not self.variant:
            tree = without_variant(tree)
        readers = self._bind_readers(tree)
        params = tuple(dict.fromkeys(p.name for p in tree.find_all(exp.Placeholder) if p.name))
        try:
            sql = tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
        except sqlglot.errors.UnsupportedError as exc:
            raise TranslationError(f"sqlglot cannot write this for Spark: {exc}") from None
        return Statement(kind, sql, name=name, params=params, readers=readers)

    # --- rules --------------------------------------------------------------------------------

    def _semantics(self, tree: exp.Expr) -> exp.Expr:
        """DuckDB's functions as DuckDB means them (see the module docstring)."""

        def rule(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Trim) and not node.args.get("expression") and not node.args.get("position"):
                return _call("duck_trim", node.this)
            if isinstance(node, exp.Lower):
                return _call("duck_lower", node.this)
            if isinstance(node, exp.RegexpFullMatch):
                return _call("duck_full_match", node.this, node.expression)
            if isinstance(node, exp.Anonymous) and node.name.lower() == "regexp_full_match":
                return _call("duck_full_match", *node.expressions)
            if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT):
                return _call("duck_text", node.this)
            if isinstance(node, exp.TryCast) and node.to.is_type(exp.DataType.Type.TIMESTAMPTZ):
                value = node.this
                return exp.Case(ifs=[
                    exp.If(this=_call("duck_full_match", value.copy(), exp.Literal.string(TIMESTAMP_PATTERN)),
                           true=node),
                    exp.If(this=_call("duck_date_like", value.copy()),
                           true=_call("refuse_date", value.copy(), exp.Literal.string("the timestamp"))),
                ])
            if isinstance(node, exp.Select):
                return _zip_unnests(node)
            return node

        return _bottom_up(tree, rule)

    def _expand(self, tree: exp.Expr, depth: int = 0) -> exp.Expr:
        if depth > _MAX_DEPTH:
            raise TranslationError("macros nested too deeply (a macro calling itself?)")
        changed = False

        def inline(node: exp.Expr) -> exp.Expr:
            nonlocal changed
            if not isinstance(node, exp.Anonymous):
                return node
            macro = self.macros.get(node.name.lower()) or self._builtin.get(node.name.lower())
            if macro is None:
                return node
            if len(node.expressions) != len(macro.params):
                raise TranslationError(
                    f"macro {node.name}() takes {len(macro.params)} argument(s), got {len(node.expressions)}"
                )
            changed = True
            return _substitute(macro, node.expressions)

        tree = tree.transform(inline)
        return self._expand(tree, depth + 1) if changed else tree

    def _bind_readers(self, tree: exp.Expr) -> dict[str, tuple[str, str]]:
        """``FROM read_lines(:path)``: the engine creates the relation; the statement reads a
        view of that name instead."""
        found: dict[str, tuple[str, str]] = {}
        for table in list(tree.find_all(exp.Table)):
            call = table.this
            if isinstance(call, exp.Anonymous) and call.name.lower() in READERS:
                args = call.expressions
                if len(args) != 1 or not isinstance(args[0], exp.Placeholder):
                    raise TranslationError(f"{call.name}() takes one :parameter")
                self._readers += 1
                view = f"moviedl_reader_{self._readers}"
                found[view] = (call.name.lower(), args[0].name)
                table.set("this", exp.to_identifier(view))
        return found


# --- helpers ------------------------------------------------------------------------------------


#: Spark 3.5 has no VARIANT (``try_parse_json``, ``variant_get``...): the engine registers these
#: functions there (Python, over the JSON text) and :func:`without_variant` calls them.
#: ``moviedl_json_kind(json, path)``: ``schema_of_variant(variant_get(try_parse_json(json), path))``'s
#: kind of the value (BIGINT for a whole number, DOUBLE for another number, STRING, BOOLEAN,
#: OBJECT, ARRAY; NULL when missing, JSON null or not JSON); ``moviedl_json_array(json, path)``:
#: ``try_variant_get(try_parse_json(json), path, 'array<variant>')`` as the JSON text of each
#: element. On such an element (in a lambda, where a Python function cannot run), Spark's own
#: functions: ``variant_get(element, path, 'string')`` is ``get_json_object(element, path)``
#: (NULL for JSON null); ``variant_get(element, '$.key')`` is NULL where the key is missing,
#: else its JSON text ('null' for JSON null, which a VARIANT holds as a value).
JSON_FUNCTIONS = ("moviedl_json_kind", "moviedl_json_array")
_VARIANT_FUNCTIONS = ("parse_json", "try_parse_json", "variant_get", "try_variant_get",
                      "schema_of_variant", "schema_of_variant_agg", "is_variant_null", "to_variant_object")


def without_variant(tree: exp.Expr) -> exp.Expr:
    """``tree`` with its uses of VARIANT rewritten for a Spark without it (see
    :data:`JSON_FUNCTIONS`); :class:`TranslationError` for a use it has no rewrite for."""

    def name(node: exp.Expr) -> str:
        return node.name.lower() if isinstance(node, exp.Anonymous) else ""

    def parsed(node: exp.Expr) -> exp.Expr | None:
        """X of ``try_parse_json(X)``."""
        return node.expressions[0] if name(node) == "try_parse_json" and len(node.expressions) == 1 else None

    def rule(node: exp.Expr) -> exp.Expr:
        call = name(node)
        args = node.expressions if call else []
        if call == "schema_of_variant" and len(args) == 1 and name(args[0]) == "variant_get":
            inner = args[0].expressions
            if len(inner) == 2 and parsed(inner[0]) is not None:
                return _call("moviedl_json_kind", parsed(inner[0]).copy(), inner[1].copy())  # type: ignore[union-attr]
        if (call == "try_variant_get" and len(args) == 3 and parsed(args[0]) is not None
                and isinstance(args[2], exp.Literal) and args[2].name.lower() == "array<variant>"):
            return _call("moviedl_json_array", parsed(args[0]).copy(), args[1].copy())  # type: ignore[union-attr]
        if (call == "variant_get" and len(args) == 3 and parsed(args[0]) is None
                and isinstance(args[2], exp.Literal) and args[2].name.lower() == "string"):
            return _call("get_json_object", args[0].copy(), args[1].copy())
        if (call == "variant_get" and len(args) == 2 and parsed(args[0]) is None
                and isinstance(args[1], exp.Literal) and re.fullmatch(r"\$\.\w+", args[1].name)):
            # a variant: SQL NULL only where the key is missing (JSON null is a value)
            element, key = args[0], args[1].name[2:]
            present = _call("map_contains_key", _call("from_json", element.copy(), exp.Literal.string("map<string,string>")),
                            exp.Literal.string(key))
            text = _call("coalesce", _call("get_json_object", element.copy(), args[1].copy()), exp.Literal.string("null"))
            return exp.Case(ifs=[exp.If(this=present, true=text)])
        return node

    tree = _bottom_up(tree, rule)
    left = sorted({name(n) for n in tree.find_all(exp.Anonymous)} & set(_VARIANT_FUNCTIONS))
    if left:
        raise TranslationError(
            f"this Spark has no VARIANT functions ({', '.join(left)}: Spark 4.0 and later) and "
            "moviedl has no rewrite for this use of them"
        )
    return tree


def _parse(text: str, dialect: str) -> exp.Expr:
    # sqlglot reads DuckDB's $name parameters as :name placeholders (Spark's parameter markers)
    try:
        tree = sqlglot.parse_one(text, read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise TranslationError(f"sqlglot cannot read this {dialect} SQL: {str(exc).splitlines()[0]}") from None
    if isinstance(tree, exp.Command):
        raise TranslationError(f"sqlglot cannot read this {dialect} SQL: {text.strip()[:80]}")
    return tree.transform(
        lambda n: exp.Placeholder(this=n.this.name)
        if isinstance(n, exp.Parameter) and isinstance(n.this, exp.Var | exp.Identifier)
        else n
    )


def _bottom_up(
    node: exp.Expr, rule: Callable[[exp.Expr], exp.Expr]
) -> exp.Expr:
    """``rule`` applied to every node, children first (sqlglot's ``transform`` does not visit
    what a replacement holds: ``lower(trim(x))`` would keep Spark's ``trim``)."""
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expr):
            node.set(key, _bottom_up(value, rule))
        elif isinstance(value, list):
            node.set(key, [_bottom_up(v, rule) if isinstance(v, exp.Expr) else v for v in value])
    return rule(node)


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _substitute(macro: Macro, args: list[exp.Expr]) -> exp.Expr:
    values = dict(zip(macro.params, args, strict=True))

    def put(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column):
            table = node.table.lower()
            if not table and node.name.lower() in values:
                return _wrapped(values[node.name.lower()])
            if table in values and not node.args.get("db"):
                relation = values[table]
                if not isinstance(relation, exp.Column) or relation.table:
                    raise TranslationError(f"a macro's row parameter {table} needs a relation name")
                return exp.Column(this=node.this.copy(), table=exp.to_identifier(relation.name))
        return node

    return macro.body.copy().transform(put)


def _wrapped(value: exp.Expr) -> exp.Expr:
    simple = (exp.Column, exp.Literal, exp.Placeholder, exp.Paren, exp.Func, exp.Null, exp.Boolean)
    return value.copy() if isinstance(value, simple) else exp.Paren(this=value.copy())


def _zip_unnests(select: exp.Select) -> exp.Select:
    """``SELECT unnest(a) AS x, unnest(b) AS y`` (DuckDB zips the lists) -> Spark's
    ``SELECT inline(arrays_zip(a, b)) AS (x, y)``."""
    items = select.expressions
    unnests = [i for i in items if isinstance(i.unalias(), exp.Explode | exp.Unnest)]
    if len(unnests) < 2:
        return select
    if len(unnests) != len(items) or not all(isinstance(i, exp.Alias) for i in items):
        raise TranslationError("several unnest() in one SELECT: only as the whole, aliased SELECT list")
    lists = []
    for item in items:
        call = item.unalias()
        lists.extend(call.expressions if isinstance(call, exp.Unnest) else [call.this])
    zipped = exp.Anonymous(this="inline", expressions=[exp.Anonymous(this="arrays_zip", expressions=lists)])
    select.set("expressions", [exp.Alias(this=zipped, alias=exp.Tuple(expressions=[
        exp.to_identifier(i.alias) for i in items
    ]))])
    return select


def strip_comments(text: str) -> str:
    """The statement without ``--`` comment lines (comments inside lines stay for sqlglot)."""
    return "\n".join(
        line for line in text.splitlines() if not line.strip().startswith("--")
    ).strip()


def split_script(text: str) -> list[str]:
    """The statements of an SQL file: each ends with ``;`` at the end of a line (as DuckDB's
    engine splits them)."""
    found, current = [], []
    for line in text.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            if strip_comments("\n".join(current)):
                found.append("\n".join(current).strip())
            current = []
    if strip_comments("\n".join(current)):
        found.append("\n".join(current).strip())
    return found


def split_text(text: str) -> list[str]:
    """Split on ``;`` outside quotes (a statement Python code built may hold several)."""
    found: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == ";":
            found.append("".join(current))
            current = []
            continue
        current.append(char)
    found.append("".join(current))
    return [s.strip() for s in found if strip_comments(s)]


def bind(params: Mapping[str, Any] | None, used: tuple[str, ...]) -> dict[str, Any]:
    """The values of the parameters a statement uses (Spark binds them: never pasted as text)."""
    params = params or {}
    missing = [p for p in used if p not in params]
    if missing:
        raise TranslationError(f"no value for the parameter(s) {', '.join(missing)}")
    return {p: _value(params[p]) for p in used}


def _value(value: Any) -> Any:
    """Lists bind as arrays; a mapping as a map literal in its own key order (Spark cannot bind
    a Python dict)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        from pyspark.sql import functions as F

        return F.create_map(*[F.lit(x) for pair in value.items() for x in pair])
    return value

