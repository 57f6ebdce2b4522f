"""Bounded history: Refined reads the compacted current state plus new partitions, and gets the
same tables as from every partition (moviedl.stages.refine.compaction)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from moviedl.core.contract import REFINED_TABLES
from moviedl.stages.refine.compaction import STATE_KEY
from tests.dirty_data import write_file

DAYS = ["2024-05-01", "2024-05-02", "2024-05-03"]


@pytest.fixture(scope="module")
def daily_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Three daily exports whose titles overlap (the same ids come back with other values)."""
    root = tmp_path_factory.mktemp("daily")
    return {
        day: (write_file(root / f"movies-{n}.csv", False, seed=20 + n, titles=150, dirty=0.003),
              write_file(root / f"series-{n}.csv", True, seed=30 + n, titles=60, dirty=0.003))
        for n, day in enumerate(DAYS)
    }


def ingest(invoke, lake: Path, day: str, files: tuple[Path, Path]) -> None:
    assert invoke("ingest-csv", *files, "--lake", lake, "--date", day).exit_code == 0


def refine(invoke, lake: Path, *flags: str) -> dict:
    # The generated artists die up to 90 years after birth (some in the future): more than the
    # default 10% of rows can be quarantined, which is not what these tests are about.
    config = lake.parent / "moviedl.toml"
    config.write_text("[checks]\nquarantine_fail_share = 0.5\n")
    result = invoke("refine", "--lake", lake, "--format", "json", "--config", config, *flags)
    assert result.exit_code == 0, result.stdout[-3000:]
    return json.loads(result.stdout)


def tables(lake: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect()
    return {t.name: sorted(con.execute(f"SELECT * FROM read_parquet('{lake / t.data_key()}')").fetchall(), key=repr)
            for t in REFINED_TABLES}


@pytest.fixture(scope="module")
def from_every_partition(daily_files, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    """The three dates ingested, then one refine: no state, every partition read."""
    from typer.testing import CliRunner

    from moviedl.cli import app
    from tests.conftest import no_settings

    lake = tmp_path_factory.mktemp("full") / "lake"
    runner = CliRunner()

    def invoke(*args: object):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    with no_settings():
        for day in DAYS:
            ingest(invoke, lake, day, daily_files[day])
        summary = refine(invoke, lake)
    assert not any("compacted" in n for n in summary["notes"])
    return tables(lake)


def test_day_by_day_refines_read_the_state_and_build_the_same_tables(
    invoke, tmp_path: Path, daily_files, from_every_partition
) -> None:
    lake = tmp_path / "lake"
    for n, day in enumerate(DAYS):
        ingest(invoke, lake, day, daily_files[day])
        summary = refine(invoke, lake)
        if n:  # the earlier days come from the state, only the new day's partitions are read
            assert f"Refined read {2 * n} Trusted partition(s) through the compacted current state and 2 new one(s)" in summary["notes"]
    assert tables(lake) == from_every_partition
    state = json.loads((lake / STATE_KEY).read_text())
    assert len(state["covers"]) == 6
    current = lake / "_moviedl" / "state" / "current" / "in_movies.parquet"
    # the state holds one snapshot per title, not the three days
    con = duckdb.connect()
    (titles, rows_state, days_state), = con.execute(
        f"SELECT count(DISTINCT imdb_id), count(*), count(DISTINCT dt) FROM read_parquet('{current}')").fetchall()
    (rows_all,) = con.execute(
        f"SELECT count(*) FROM read_parquet('{lake}/Trusted/Local/Parquet/Movies/*/*.parquet')").fetchone()
    assert rows_state < rows_all and days_state == 3 and titles > 0


def test_a_back_filled_older_date_reads_every_partition(invoke, tmp_path: Path, daily_files, from_every_partition) -> None:
    lake = tmp_path / "lake"
    for day in (DAYS[0], DAYS[2]):
        ingest(invoke, lake, day, daily_files[day])
    refine(invoke, lake)
    ingest(invoke, lake, DAYS[1], daily_files[DAYS[1]])  # older than the state's newest date
    summary = refine(invoke, lake, "--date", DAYS[1])
    assert f"{DAYS[1]} was published after later dates: read every partition" in summary["notes"]
    assert tables(lake) == from_every_partition


def test_a_re_refined_partition_or_a_changed_state_file_reads_every_partition(
    invoke, tmp_path: Path, daily_files, from_every_partition
) -> None:
    lake = tmp_path / "lake"
    for day in DAYS:
        ingest(invoke, lake, day, daily_files[day])
        refine(invoke, lake)
    summary = refine(invoke, lake, "--date", DAYS[0], "--force")  # rebuilds (same bytes) and rereads all
    assert not any("through the compacted" in n for n in summary["notes"])
    assert tables(lake) == from_every_partition

    # A state file replaced by something else is not trusted.
    current = lake / "_moviedl" / "state" / "current" / "in_movies.parquet"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_parquet('{current}') LIMIT 3) TO '{current}' (FORMAT parquet)")
    assert invoke("ingest-csv", daily_files[DAYS[0]][0], "--lake", lake, "--date", "2024-05-04").exit_code == 0
    summary = refine(invoke, lake)
    assert "the compacted state's files changed: read every partition" in summary["notes"]
