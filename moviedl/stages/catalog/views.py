"""Analysis views over the Refined zone, written once in DuckDB SQL and translated for Athena.

Each view lives in ``moviedl/sql/view_<name>.sql`` as one ``CREATE OR REPLACE VIEW`` statement in
DuckDB's dialect, with a leading ``--`` comment saying what it answers. The DuckDB text is used
as written (and tested on real data); the Athena (Trino) text is produced by sqlglot, with every
table qualified by the Athena database. A construct sqlglot cannot translate stops the command
instead of emitting SQL that Athena would reject.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from moviedl.core.contract import TABLES, Table
from moviedl.core.summary import Check, Status
from moviedl.engines import duck
from moviedl.engines.base import ident, sql_for

#: In dependency order: ``v_title_facts`` first, the views reading it after.
VIEW_FILES = (
    "view_title_facts",
    "view_genre_summary",
    "view_decade_summary",
    "view_budget_revenue",
    "view_top_titles",
    "view_genre_decade",
    "view_kind_decade",
    "view_rating_distribution",
    "view_runtime_distribution",
    "view_language_summary",
    "view_tmdb_coverage",
    "view_budget_by_genre",
    "view_budget_by_year",
    "view_top_rated",
    "view_artist_summary",
    "view_cast_gender",
)


@dataclass(frozen=True)
class View:
    name: str
    doc: str  # the file's leading comment, one line
    sql: str  # the CREATE OR REPLACE VIEW statement in DuckDB SQL, without the final ';'
    reads: tuple[str, ...]  # tables and views it selects from

    def needs(self, views: Sequence[View]) -> set[str]:
        """The contract tables this view needs, directly or through other views."""
        by_name = {v.name: v for v in views}
        found: set[str] = set()
        for name in self.reads:
            found |= by_name[name].needs(views) if name in by_name else {name}
        return found


@cache
def load_views() -> tuple[View, ...]:
    return tuple(_load(name) for name in VIEW_FILES)


def _load(file_name: str) -> View:
    import sqlglot
    from sqlglot import exp

    text = sql_for(file_name, "duckdb")
    doc = " ".join(line.strip()[2:].strip() for line in text.splitlines() if line.strip().startswith("--"))
    body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("--")).strip()
    body = body.rstrip(";").rstrip()
    tree = sqlglot.parse_one(body, read="duckdb")
    assert isinstance(tree, exp.Create) and tree.kind == "VIEW", file_name
    name = tree.this.name
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    reads = tuple(sorted({t.name for t in tree.expression.find_all(exp.Table)} - ctes - {""}))
    return View(name, doc, body, reads)


def athena_view(view: View, database: str) -> str:
    """The view in Athena's SQL (Trino), every table and view qualified by ``database``."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(view.sql, read="duckdb")
    known = set(TABLES) | {v.name for v in load_views()}
    for table in tree.find_all(exp.Table):
        if table.name in known and not table.args.get("db"):
            table.set("db", exp.to_identifier(database))
    return tree.sql(dialect="athena", pretty=True, identify=True, unsupported_level=sqlglot.ErrorLevel.RAISE)


def usable(views: Iterable[View], available: set[str]) -> tuple[list[View], list[tuple[View, set[str]]]]:
    """Split ``views`` into those whose tables are all ``available`` and the others (with what is missing)."""
    every = tuple(views)
    ok, missing = [], []
    for view in every:
        absent = view.needs(every) - available
        if absent:
            missing.append((view, absent))
        else:
            ok.append(view)
    return ok, missing


def bind(con: duck.Connection, views: Sequence[View], tables: Iterable[Table]) -> Check:
    """Create every view over empty tables shaped like the contract: each must bind (its columns
    exist with types it can use). Catches a view left behind by a change of the contract."""
    for table in tables:
        columns = ", ".join(f"{ident(c.name)} {c.type}" for c in table.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(table.name)} ({columns})")  # contract names
    for view in views:
        try:
            con.execute(view.sql.replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW", 1))
            con.execute(f"DESCRIBE SELECT * FROM {ident(view.name)}").fetchall()
        except duck.Error as exc:
            return Check("views bind", "analysis views", f"{view.name}: {str(exc).splitlines()[0]}",
                         Status.FAIL, "every view compiles against the contract's tables")
    return Check("views bind", "analysis views", f"{len(views)} view(s) compile",
                 Status.PASS, "every view compiles against the contract's tables")
