"""Regenerate the golden files of ``moviedl athena-ddl`` in ``tests/golden/ddl/``.

    python tests/regenerate_ddl_golden.py

Builds a small lake (every Trusted and Refined table, written with DuckDB to the contract),
renders the Athena DDL, the DuckDB views and the IAM policies for fixed settings, and writes
them. Review the diff: it is the change users will see. ``tests/test_ddl.py`` fails while the
files differ from what the code renders. The fixture lake is also used by the tests.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

GOLDEN = Path(__file__).parent / "golden" / "ddl"
LOCATION = "s3://example-bucket/lake"
LAKE_PLACEHOLDER = "<lake>"

# --- the fixture lake -----------------------------------------------------------------------------

TS = dt.datetime(2024, 5, 1, 12, 0, 0)

TRUSTED_ROWS: dict[str, dict[str, list[tuple[Any, ...]]]] = {
    "trusted_movies": {
        "2024-05-01": [
            ("tt0000001", "Alfa", "Alpha", 1994, 100, ["Comedy", "Drama"], 8.0, 1000, "F", "Ana", "Ana Lima",
             1960, None, ["actress"], ["tt0000001"]),
            ("tt0000002", "Beta", "Beta", 1999, 120, ["Drama"], 6.0, 500, "M", "Bob", "Bruno Reis",
             1970, 2020, ["actor", "director"], ["tt0000002"]),
        ],
        "2024-05-02": [
            ("tt0000004", "Delta", "Delta", None, None, [], None, None, None, None, "Ana Lima",
             1960, None, ["actress"], []),
        ],
    },
    "trusted_series": {
        "2024-05-01": [
            ("tt0000003", "Gama", "Gamma", 2005, 2010, 45, ["Comedy"], 9.0, 2000, "F", "Eve", "Ana Lima",
             1960, None, ["actress"], ["tt0000001"]),
        ],
    },
    "trusted_tmdb_movies": {
        "2024-05-01": [
            (11, "tt0000001", "Alpha", "Alpha", dt.date(1994, 3, 1), "en", 10.0, 7.9, 900, ["Drama", "Comedy"],
             100, 300, 100, TS),
        ],
    },
    "trusted_tmdb_series": {
        "2024-05-01": [
            (33, "tt0000003", "Gamma", "Gamma", dt.date(2005, 1, 1), dt.date(2010, 6, 1), "en", 30.0, 8.8,
             1500, ["Comedy"], 5, 60, TS),
        ],
    },
}

REFINED_ROWS: dict[str, list[tuple[Any, ...]]] = {
    "dim_filmes": [
        (1, "tt0000001", 11, "Alfa", "Alpha", "movie", 1994, None, 1990, 100, "en"),
        (2, "tt0000002", None, "Beta", "Beta", "movie", 1999, None, 1990, 120, None),
        (3, "tt0000003", 33, "Gama", "Gamma", "series", 2005, 2010, 2000, 45, "en"),
        (4, "tt0000004", None, "Delta", "Delta", "movie", None, None, None, None, None),
    ],
    "dim_genero": [(101, "Drama"), (102, "Comedy"), (103, "(unknown)")],
    "dim_artista": [
        (201, "Ana Lima", "F", 1960, None, ["actress"]),
        (202, "Bruno Reis", "M", 1970, 2020, ["actor", "director"]),
    ],
    "fato_filme": [
        # film, genre, rating, votes, popularity, tmdb avg, tmdb count, budget, revenue, artists
        (1, 101, 8.0, 1000, 10.0, 7.9, 900, 100, 300, 1),
        (1, 102, 8.0, 1000, 10.0, 7.9, 900, 100, 300, 1),
        (2, 101, 6.0, 500, None, None, None, None, None, 1),
        (3, 102, 9.0, 2000, 30.0, 8.8, 1500, 50, 25, 1),
        (4, 103, None, None, None, None, None, None, None, 1),
    ],
    "fato_elenco": [(1, 201, "Ana"), (2, 202, "Bob"), (3, 201, "Eve"), (4, 201, None)],
}


def write_parquet(con: duckdb.DuckDBPyConnection, table: Any, rows: Sequence[tuple[Any, ...]], path: Path) -> None:
    """Write ``rows`` to ``path`` with exactly the contract's columns and types."""
    from moviedl.engines.base import ident

    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ", ".join(f"{ident(c.name)} {c.type}" for c in table.columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE fixture ({columns})")
    if rows:
        marks = ", ".join("?" for _ in table.columns)
        con.executemany(f"INSERT INTO fixture VALUES ({marks})", [list(r) for r in rows])
    con.execute(f"COPY fixture TO '{path}' (FORMAT parquet)")


def build_lake(root: Path) -> Path:
    """A lake holding every Trusted (partitioned) and Refined table, small and known."""
    from moviedl.core.contract import TABLES

    con = duckdb.connect()
    for name, partitions in TRUSTED_ROWS.items():
        table = TABLES[name]
        for day, rows in partitions.items():
            write_parquet(con, table, rows, root / table.data_key(day))
    for name, rows in REFINED_ROWS.items():
        table = TABLES[name]
        write_parquet(con, table, rows, root / table.data_key())
    con.close()
    return root


# --- rendering ------------------------------------------------------------------------------------


def golden_settings(lake: Path, **flags: Any) -> Any:
    from moviedl.core.config import load_settings

    return load_settings({"lake": str(lake), "date": "2024-05-02", **flags}, env={})


def render(lake: Path) -> dict[str, str]:
    """The text of each golden file, rendered from the fixture lake at ``lake``."""
    from moviedl.stages.catalog.athena_ddl import DdlOptions, athena_ddl
    from moviedl.storage.local import LocalLake

    store = LocalLake(lake)
    athena = athena_ddl(golden_settings(lake), store, DdlOptions(location=LOCATION))
    duck = athena_ddl(golden_settings(lake), store, DdlOptions(dialect="duckdb"))
    policy_settings = golden_settings(
        lake, **{"aws.region": "eu-west-1", "s3.sse": "aws:kms", "s3.kms_key_id": "alias/moviedl",
                 "athena.output_location": "s3://example-results/athena/", "athena.workgroup": "analytics"},
    )
    policies = athena_ddl(policy_settings, store, DdlOptions(location=LOCATION, policy=True))
    assert athena.script and duck.script and policies.script, "the fixture lake must pass every check"
    return {
        "athena.sql": athena.script,
        "duckdb.sql": duck.script.replace(str(store.root), LAKE_PLACEHOLDER),
        "policies.json": policies.script,
    }


def main() -> int:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in render(build_lake(Path(tmp) / "lake")).items():
            path = GOLDEN / name
            old = path.read_text("utf-8") if path.exists() else None
            path.write_text(text, "utf-8")
            print(f"{'unchanged' if old == text else 'written'}: {path}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
