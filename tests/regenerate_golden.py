"""Regenerate tests/golden/refined/*.csv: the Refined tables built from the bundled samples.

    python tests/regenerate_golden.py

Ingests ``moviedl/samples/{movies,series}.csv`` into a temporary local lake (date 2024-05-01),
runs ``moviedl refine`` and writes each Refined table as CSV (rows ordered by primary key).
Review the diff by hand before committing: these files are the expected output of the tests.
"""

from __future__ import annotations

import sys
import tempfile
from importlib import resources
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from moviedl.cli import app
from moviedl.core.contract import REFINED_TABLES, Table
from moviedl.engines.base import idents

GOLDEN = Path(__file__).parent / "golden" / "refined"
DAY = "2024-05-01"


def table_csv(path: Path, table: Table) -> str:
    """A Refined Parquet file as CSV text: header, rows by primary key, lists as [a, b]."""
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "table.csv"
        con.execute(
            f"COPY (SELECT * FROM read_parquet($path, hive_partitioning = false) "
            f"ORDER BY {idents(table.primary_key)}) TO $out (HEADER, DELIMITER ',')",
            {"path": str(path), "out": str(out)},
        )
        return out.read_text("utf-8")


def build_sample_lake(lake: Path) -> None:
    samples = resources.files("moviedl") / "samples"
    runner = CliRunner()
    for args in (
        [
            "ingest-csv",
            str(samples / "movies.csv"),
            str(samples / "series.csv"),
            "--lake",
            str(lake),
            "--date",
            DAY,
            "--quiet",
        ],
        ["refine", "--lake", str(lake), "--quiet"],
    ):
        result = runner.invoke(app, args, catch_exceptions=False)
        if result.exit_code != 0:
            sys.exit(f"moviedl {' '.join(args[:1])} failed:\n{result.output}")


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        build_sample_lake(lake)
        for table in REFINED_TABLES:
            text = table_csv(lake / table.data_key(), table)
            (GOLDEN / f"{table.name}.csv").write_text(text, "utf-8")
            print(f"{table.name}: {text.count(chr(10)) - 1} rows")


if __name__ == "__main__":
    main()
