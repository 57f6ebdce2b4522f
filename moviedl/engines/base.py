"""The SQL engine seam: what ``refine`` (Trusted, the star schema, the audit) needs from an engine.

:class:`Engine` names those operations and nothing more; :class:`moviedl.engines.duck.DuckDBEngine`
and :class:`moviedl.engines.spark.engine.SparkEngine` implement it, and
:func:`moviedl.engines.open_engine` chooses one. Modules whose work is engine-neutral (:mod:`moviedl.stages.refine.trusted`,
:mod:`moviedl.stages.refine.star_schema`, :mod:`moviedl.checks.audit`, :mod:`moviedl.stages.refine.refine`) take an ``Engine``;
they import neither ``duckdb`` nor :mod:`moviedl.engines.duck`.

The SQL they hand over — the files of ``moviedl/sql/`` and the queries they build — is written
once, in DuckDB's dialect (the shared dialect: ``"quoted"`` identifiers, ``$named`` parameters).
An engine with another dialect translates it, or has its own text for a file: :func:`sql_for`
looks up ``sql/<name>.<engine>.sql`` first (dbt's ``adapter.dispatch``), then the shared file.

Errors stay the engine's own exceptions (their messages reach users unchanged); an engine names
their classes (:attr:`Engine.errors`, :attr:`Engine.input_errors`, :attr:`Engine.out_of_memory`)
so callers can catch them without importing the engine's library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from moviedl.core.errors import ConfigError

if TYPE_CHECKING:
    pass

Params = Mapping[str, Any] | None


class Engine(Protocol):
    """A SQL engine that reads local files, runs moviedl's SQL and writes Parquet files."""

    #: the engine's key for :func:`sql_for` (``"duckdb"``) and its name in messages (``"DuckDB"``)
    name: str
    label: str
    #: a statement failed (bad input data, a file it cannot read, an interrupt...)
    errors: tuple[type[Exception], ...]
    #: an input file could not be read as the statement asked (a subset of ``errors``)
    input_errors: tuple[type[Exception], ...]
    #: the engine ran out of memory (a subset of ``errors``: catch it first)
    out_of_memory: tuple[type[Exception], ...]

    def run_script(self, name: str, params: Params = None) -> None:
        """Run every statement of :func:`sql_for` ``(name, self.name)``, each given the
        ``$named`` parameters it uses (a script may ignore some)."""

    def execute(self, statement: str, params: Params = None) -> None:
        """Run one statement (or several without parameters) whose result is not needed."""

    def rows(self, query: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Every row of ``query``."""

    def register_parquet(
        self,
        name: str,
        files: Sequence[str],
        *,
        columns: Sequence[tuple[str, str]] | None = None,
        per_file: Mapping[str, Sequence[str]] | None = None,
    ) -> str:
        """Make ``name`` a relation (view) over the local Parquet ``files``; returns its quoted
        name. Without ``columns``: every column of the files (which share one schema). With
        ``columns`` (name, type): those, matched by name in each file, and — when there is no
        file — an empty relation of them. ``per_file`` adds text columns holding one value per
        file (``{"dt": [one date per file]}``)."""

    def write_parquet(
        self,
        select: str,
        path: Path,
        params: Params = None,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Write the rows of ``select`` to the single Parquet file ``path`` (zstd), with
        ``metadata`` as its key-value metadata; returns the rows written."""

    def write_parquet_ranges(
        self,
        select: str,
        path: Path,
        rows: int,
        params: Params = None,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """As :meth:`write_parquet`, for rows in the order of an index ``0 <= i < rows``:
        ``select`` keeps those whose index lies in ``[$lo, $hi)``, and the file holds them in
        index order. The engine chooses the ranges, and may write them in parallel."""

    def parquet_rows(self, path: str) -> int:
        """The rows of a Parquet file, from its footer (raises ``errors`` when unreadable)."""

    def parquet_schema(self, path: str) -> list[tuple[str, str]]:
        """The (column, type) pairs of a Parquet file, types named as the contract names them
        (:attr:`moviedl.core.contract.Column.type`)."""

    def parquet_metadata(self, path: str) -> dict[str, str]:
        """The key-value metadata of a Parquet file."""

    def out_of_memory_error(self, exc: BaseException, consequence: str = "") -> ConfigError:
        """The error to stop with after ``exc`` (one of ``out_of_memory``): what ran out, then
        ``consequence`` (``"; nothing more was published"``), and the settings to change."""

    def close(self) -> None:
        """Release the engine (memory, temporary files)."""


# --- helpers for any engine -------------------------------------------------------------------


def one(engine: Engine, query: str, params: Params = None) -> tuple[Any, ...]:
    """The first row of ``query`` (``()`` when none)."""
    found = engine.rows(query, params)
    return tuple(found[0]) if found else ()


def scalar(engine: Engine, query: str, params: Params = None) -> int:
    """``query``'s single number (0 when NULL or no row)."""
    row = one(engine, query, params)
    return int(row[0]) if row and row[0] is not None else 0


def ident(name: str) -> str:
    """A quoted SQL identifier (column and table names come from the contract, never from users)."""
    return '"' + name.replace('"', '""') + '"'


def idents(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(ident(n) for n in names)


@cache
def sql_for(name: str, engine: str) -> str:
    """The text of the SQL file ``name`` for ``engine``: ``moviedl/sql/<name>.<engine>.sql`` when
    that engine needs its own text, else the shared ``moviedl/sql/<name>.sql``."""
    folder = resources.files("moviedl") / "sql"
    own = folder / f"{name}.{engine}.sql"
    return (own if own.is_file() else folder / f"{name}.sql").read_text("utf-8")
