"""Trusted -> Refined: the star schema (SPEC "Refined zone"), rebuilt from every Trusted partition.

Each title takes its latest snapshot (the latest ``dt`` holding it); TMDB data joins by IMDb id,
never by title. The transformation is ``sql/refined.sql``; this module gives it its inputs
(published Trusted partitions, downloaded first when the lake is on S3), writes each table to the
staging area ordered by its primary key (so the same input gives the same bytes whatever its row
order) and returns :class:`~moviedl.publish.Staged` outputs for the audit.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import duckdb

from moviedl.contract import (
    DIM_FILMES,
    REFINED_TABLES,
    TRUSTED_MOVIES,
    TRUSTED_SERIES,
    TRUSTED_TMDB_MOVIES,
    TRUSTED_TMDB_SERIES,
    Table,
)
from moviedl.duck import ident, idents, one, run_script, scalar, sql_text, write_parquet
from moviedl.publish import Staged, Workspace
from moviedl.trusted import trusted_partitions

INPUT_VIEWS = {
    "in_movies": TRUSTED_MOVIES,
    "in_series": TRUSTED_SERIES,
    "in_tmdb_movies": TRUSTED_TMDB_MOVIES,
    "in_tmdb_series": TRUSTED_TMDB_SERIES,
}


@dataclass
class Inputs:
    """The Trusted partitions read: table name -> {dt: [lake keys]}."""

    partitions: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def count(self, table: Table) -> int:
        return len(self.partitions.get(table.name, {}))

    @property
    def sources(self) -> list[str]:
        return [
            key for parts in self.partitions.values() for keys in parts.values() for key in keys
        ]

    @property
    def has_titles(self) -> bool:
        return bool(self.count(TRUSTED_MOVIES) or self.count(TRUSTED_SERIES))

    @property
    def has_tmdb(self) -> bool:
        return bool(self.count(TRUSTED_TMDB_MOVIES) or self.count(TRUSTED_TMDB_SERIES))


def register_inputs(con: duckdb.DuckDBPyConnection, ws: Workspace) -> Inputs:
    """Create the views ``in_movies``, ``in_series``, ``in_tmdb_movies``, ``in_tmdb_series`` over
    every published Trusted partition (each row tagged with its ``dt``)."""
    inputs = Inputs()
    for view, table in INPUT_VIEWS.items():
        partitions = trusted_partitions(ws.lake, table)
        inputs.partitions[table.name] = partitions
        files = [(str(ws.input_path(key)), day) for day, keys in partitions.items() for key in keys]
        if files:
            relation = con.sql(
                f"SELECT {idents(table.column_names)}, p.dt "
                "FROM read_parquet($files, filename = true, union_by_name = true, hive_partitioning = false) AS t "
                "JOIN (SELECT unnest($files) AS filename, unnest($days) AS dt) AS p USING (filename)",
                params={"files": [f for f, _ in files], "days": [d for _, d in files]},
            )
        else:  # an empty input with the contract's columns, so the SQL still binds
            typed = ", ".join(f"CAST(NULL AS {c.type}) AS {ident(c.name)}" for c in table.columns)
            relation = con.sql(f"SELECT {typed}, CAST(NULL AS VARCHAR) AS dt WHERE false")
        relation.create_view(view, replace=True)
    return inputs


def build_refined(
    con: duckdb.DuckDBPyConnection,
    ws: Workspace,
    inputs: Inputs,
    *,
    force_empty: Collection[str] = (),
) -> list[Staged]:
    """Build every Refined table into the staging area (dimensions first, then facts)."""
    run_script(con, "refined")
    titles = scalar(
        con,
        "SELECT count(DISTINCT imdb_id) FROM (SELECT imdb_id FROM in_movies "
        "UNION ALL SELECT imdb_id FROM in_series)",
    )
    expected = dict(zip(
        ("dim_genero", "dim_artista", "fato_filme", "fato_elenco"),
        con.execute(sql_text("refined_expected_rows")).fetchone() or (),
        strict=True,
    ))
    labels = {
        "dim_genero": "distinct genres of the titles",
        "dim_artista": "distinct artists (name + birth year)",
        "fato_filme": "distinct (title, genre) pairs",
        "fato_elenco": "distinct (title, artist) pairs",
    }
    outputs = []
    for table in REFINED_TABLES:
        out = Staged(table, None, ws.staged_path(table.data_key()), sources=inputs.sources)
        out.rows_written = write_parquet(
            con,
            f"SELECT {idents(table.column_names)} FROM {ident(table.name)} ORDER BY {idents(table.primary_key)}",
            out.path,
            broken_writer=table.name in force_empty,
        )
        if table is DIM_FILMES:
            out.rows_in, out.rows_in_label = titles, "distinct Trusted titles"
        else:
            out.rows_in, out.rows_in_label = int(expected[table.name]), labels[table.name]
        outputs.append(out)
    return outputs


def tmdb_coverage(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(titles with TMDB data, titles) in the built DimFilmes."""
    row = one(con, "SELECT count(tmdb_id), count(*) FROM dim_filmes")
    return (int(row[0]), int(row[1])) if row else (0, 0)


def drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name in (
        "fato_filme",
        "fato_elenco",
        "dim_artista",
        "dim_genero",
        "dim_filmes",
        "r_title_genres",
        "r_latest",
    ):
        con.execute(f"DROP VIEW IF EXISTS {ident(name)}")
    for name in ("r_cast", "r_tmdb", "r_titles"):
        con.execute(f"DROP TABLE IF EXISTS {ident(name)}")
