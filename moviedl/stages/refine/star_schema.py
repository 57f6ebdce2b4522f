"""Trusted -> Refined: the star schema (SPEC "Refined zone"), rebuilt from every Trusted partition.

Each title takes its latest snapshot (the latest ``dt`` holding it); TMDB data joins by IMDb id,
never by title. The transformation is ``sql/refined.sql``; this module gives it its inputs
(published Trusted partitions, downloaded first when the lake is on S3), writes each table to the
staging area ordered by its primary key (so the same input gives the same bytes whatever its row
order) and returns :class:`~moviedl.stages.refine.publish.Staged` outputs for the audit. It runs on an
:class:`~moviedl.engines.base.Engine`; the SQL is DuckDB's (``stable_key`` is MD5-based,
``nfc_normalize``, ``struct_pack``/``arg_max``, list functions): another engine needs its own
``refined`` scripts, computing the same keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from moviedl.core.contract import (
    REFINED_TABLES,
    TRUSTED_MOVIES,
    TRUSTED_SERIES,
    TRUSTED_TMDB_MOVIES,
    TRUSTED_TMDB_SERIES,
    Table,
)
from moviedl.engines.base import Engine, ident, idents, one, sql_for
from moviedl.stages.refine import compaction
from moviedl.stages.refine.publish import Staged, Workspace
from moviedl.stages.refine.trusted import trusted_partitions

INPUT_VIEWS = {
    "in_movies": TRUSTED_MOVIES,
    "in_series": TRUSTED_SERIES,
    "in_tmdb_movies": TRUSTED_TMDB_MOVIES,
    "in_tmdb_series": TRUSTED_TMDB_SERIES,
}


@dataclass
class Inputs:
    """The published Trusted partitions (table name -> {dt: [lake keys]}) and what was read for
    them: the partitions themselves, or the compacted current state plus newer partitions."""

    partitions: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    plan: compaction.Plan = field(default_factory=compaction.Plan)

    def count(self, table: Table) -> int:
        return len(self.partitions.get(table.name, {}))

    @property
    def sources(self) -> list[str]:
        """The lake keys read."""
        return [source.key for sources in self.plan.files.values() for source in sources]

    @property
    def has_titles(self) -> bool:
        return bool(self.count(TRUSTED_MOVIES) or self.count(TRUSTED_SERIES))

    @property
    def has_tmdb(self) -> bool:
        return bool(self.count(TRUSTED_TMDB_MOVIES) or self.count(TRUSTED_TMDB_SERIES))


def register_inputs(engine: Engine, ws: Workspace, code: str | None = None) -> Inputs:
    """Create the views ``in_movies``, ``in_series``, ``in_tmdb_movies``, ``in_tmdb_series`` over
    the published Trusted partitions (each row tagged with its ``dt``; with the contract's
    columns and no row when a table has no partition, so the SQL still binds). With ``code``
    (the code fingerprint), through the compacted current state where it is valid
    (:mod:`moviedl.stages.refine.compaction`): the same rows for the star schema, far fewer read."""
    inputs = Inputs()
    by_view = {view: trusted_partitions(ws.lake, table) for view, table in INPUT_VIEWS.items()}
    for view, table in INPUT_VIEWS.items():
        inputs.partitions[table.name] = by_view[view]
    if code is None:
        inputs.plan = compaction.Plan(
            {view: [compaction.Source(k, d) for d, keys in parts.items() for k in keys] for view, parts in by_view.items()}
        )
    else:
        inputs.plan = compaction.plan(ws.lake, code, by_view)
    for view, table in INPUT_VIEWS.items():
        sources = inputs.plan.files.get(view, [])
        new = [(str(ws.input_path(s.key)), s.dt) for s in sources if s.dt]
        state = [str(ws.input_path(s.key)) for s in sources if not s.dt]
        if not state:
            engine.register_parquet(
                view, [f for f, _ in new], columns=table.schema, per_file={"dt": [d for _, d in new if d]}
            )
            continue
        engine.register_parquet(f"{view}_state", state, columns=[*table.schema, ("dt", "VARCHAR")])
        engine.register_parquet(
            f"{view}_new", [f for f, _ in new], columns=table.schema, per_file={"dt": [d for _, d in new if d]}
        )
        engine.execute(
            f"CREATE OR REPLACE TEMP VIEW {ident(view)} AS SELECT * FROM {ident(view + '_state')} "
            f"UNION ALL SELECT * FROM {ident(view + '_new')}"
        )
    return inputs


def _no_step(what: str) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


def build_refined(
    engine: Engine,
    ws: Workspace,
    inputs: Inputs,
    step: Callable[[str], AbstractContextManager[None]] = _no_step,
) -> list[Staged]:
    """Build every Refined table into the staging area (dimensions first, then facts), and
    ``v_trusted_pairs``, the (title, genre) pairs of Trusted that FatoFilme must cover
    (``sql/validate_trusted_pairs.sql``, the query ``validate`` checks the lake with). Each part
    runs inside ``step(what)`` — the table it writes, or the work before them — so a caller can
    say which part failed."""
    with step("the star schema's work tables (sql/refined.sql)"):
        engine.run_script("norm")
        engine.run_script("refined")
    with step("the Trusted (title, genre) pairs (sql/validate_trusted_pairs.sql)"):
        engine.run_script("validate_trusted_pairs")
    labels = {  # what each table's expected rows count, in refined_expected_rows.sql's order
        "dim_filmes": "distinct Trusted titles",
        "dim_genero": "distinct genres of the titles",
        "dim_artista": "distinct artists (name + birth year)",
        "fato_filme": "distinct (title, genre) pairs",
        "fato_elenco": "distinct (title, artist) pairs",
    }
    with step("the expected row counts (sql/refined_expected_rows.sql)"):
        expected = dict(zip(labels, one(engine, sql_for("refined_expected_rows", engine.name)), strict=True))
    outputs = []
    for table in REFINED_TABLES:
        out = Staged(table, None, ws.staged_path(table.data_key()), sources=inputs.sources)
        with step(table.name):
            out.rows_written = engine.write_parquet(
                f"SELECT {idents(table.column_names)} FROM {ident(table.name)} ORDER BY {idents(table.primary_key)}",
                out.path,
            )
        out.rows_in, out.rows_in_label = int(expected[table.name]), labels[table.name]
        outputs.append(out)
    return outputs


def tmdb_coverage(engine: Engine) -> tuple[int, int]:
    """(titles with TMDB data, titles) in the built DimFilmes."""
    row = one(engine, "SELECT count(tmdb_id), count(*) FROM dim_filmes")
    return (int(row[0]), int(row[1])) if row else (0, 0)


def drop_work_tables(engine: Engine) -> None:
    for name in (
        "fato_filme",
        "fato_elenco",
        "dim_artista",
        "dim_genero",
        "dim_filmes",
        "r_title_genres",
        "r_latest",
    ):
        engine.execute(f"DROP VIEW IF EXISTS {ident(name)}")
    for name in ("r_cast", "r_tmdb", "r_titles"):
        engine.execute(f"DROP TABLE IF EXISTS {ident(name)}")
