"""DuckDB for moviedl: a configured connection and the SQL files shipped in ``moviedl/sql/``.

Every connection is in-memory, offline (no extension is ever downloaded: Parquet, JSON and ICU
are built into the wheel), UTC, with ``memory_limit``/``threads``/``temp_directory`` from the
settings so big inputs spill to disk instead of running out of memory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from moviedl.errors import ConfigError

if TYPE_CHECKING:
    from moviedl.config import Settings

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def connect(settings: Settings, spill_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection; ``spill_dir`` is used unless ``duckdb.temp_directory`` is set."""
    config: dict[str, Any] = {
        "memory_limit": settings.duckdb_memory_limit,
        "temp_directory": settings.duckdb_temp_directory or str(spill_dir),
        "preserve_insertion_order": True,
        "autoinstall_known_extensions": False,
        "TimeZone": "UTC",
    }
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    try:
        return duckdb.connect(":memory:", config=config)
    except (duckdb.InvalidInputException, duckdb.Error) as exc:
        raise ConfigError(
            f"DuckDB refused its settings (duckdb.memory_limit={settings.duckdb_memory_limit!r}, "
            f"duckdb.threads={settings.duckdb_threads!r}): {exc}"
        ) from None


@cache
def sql_text(name: str) -> str:
    """The text of ``moviedl/sql/<name>.sql``."""
    return (resources.files("moviedl") / "sql" / f"{name}.sql").read_text("utf-8")


def statements(name: str) -> list[str]:
    """The statements of an SQL file; each ends with ``;`` at the end of a line."""
    found, current = [], []
    for line in sql_text(name).splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(current).strip()
            if _code(text):
                found.append(text)
            current = []
    if _code("\n".join(current)):
        found.append("\n".join(current).strip())
    return found


def _code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


def run_script(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> None:
    """Run every statement of ``sql/<name>.sql``, each given the ``$named`` parameters it uses."""
    params = params or {}
    for statement in statements(name):
        used = {p: params[p] for p in dict.fromkeys(_PARAM.findall(_strip_comments(statement)))}
        con.execute(statement, used or None)


def _strip_comments(statement: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in statement.splitlines())


def ident(name: str) -> str:
    """A quoted SQL identifier (column and table names come from the contract, never from users)."""
    return '"' + name.replace('"', '""') + '"'


def idents(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(ident(n) for n in names)


def one(
    con: duckdb.DuckDBPyConnection, query: str, params: Mapping[str, Any] | None = None
) -> tuple[Any, ...]:
    """The first row of ``query`` (``()`` when none). Reads the whole result: DuckDB 2 refuses
    new work on a connection while a result is only partly fetched."""
    rows = con.execute(query, params or None).fetchall()
    return tuple(rows[0]) if rows else ()


def scalar(
    con: duckdb.DuckDBPyConnection, query: str, params: Mapping[str, Any] | None = None
) -> int:
    """``query``'s single number (0 when NULL or no row)."""
    row = one(con, query, params)
    return int(row[0]) if row and row[0] is not None else 0


def write_parquet(
    con: duckdb.DuckDBPyConnection,
    select: str,
    path: Path,
    params: Mapping[str, Any] | None = None,
    *,
    metadata: Mapping[str, str] | None = None,
    broken_writer: bool = False,
) -> int:
    """Write ``select`` to the Parquet file ``path`` (zstd), with ``metadata`` as the file's
    key-value metadata; returns the rows DuckDB says it wrote.

    ``broken_writer`` is a test hook: the file is then replaced by an empty one with the same
    schema — what a faulty writer leaves behind — so tests can prove the audit catches it.
    """
    options = "FORMAT parquet, COMPRESSION zstd" + (", KV_METADATA $kv" if metadata else "")
    values = {**(params or {}), "path": str(path), **({"kv": dict(metadata)} if metadata else {})}
    row = one(con, f"COPY ({select}) TO $path ({options})", values)
    if broken_writer:
        one(con, f"COPY (SELECT * FROM ({select}) LIMIT 0) TO $path ({options})", values)
    return int(row[0]) if row else 0
