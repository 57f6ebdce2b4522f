"""``moviedl.api``: the commands as library calls, with the lock and the run record the CLI has."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from moviedl import api
from moviedl.core.errors import ExitCode, UsageError
from moviedl.stages.catalog.athena_ddl import DdlOptions
from moviedl.stages.refine.publish import VERSIONS_PREFIX
from moviedl.storage.local import LocalLake
from moviedl.storage.lock import LockOwner, lock_lake
from tests.conftest import SAMPLE_DATE, SAMPLES


def rows_of(lake: Path, table: str) -> int:
    [(count,)] = duckdb.connect().execute(
        "SELECT count(*) FROM read_parquet($p)", {"p": str(lake / "Refined" / table / "data.parquet")}
    ).fetchall()
    return int(count)


def test_ingest_and_refine_as_library_calls_build_the_lake_and_record_each_run(tmp_path: Path) -> None:
    settings = api.settings(lake=tmp_path / "lake", date=SAMPLE_DATE)

    ingested = api.ingest_csv(settings, [SAMPLES / "movies.csv", SAMPLES / "series.csv"])
    refined = api.refine(settings)

    assert ingested.ok and refined.ok, refined.problems
    assert rows_of(tmp_path / "lake", "DimFilmes") > 0
    listed = api.runs(settings)
    assert [row["command"] for row in listed.rows] == ["refine", "ingest-csv"]  # newest first
    assert all(row["exit_code"] == 0 for row in listed.rows)
    assert any(note.startswith("run record: ") for note in refined.notes)


def test_refine_waits_for_no_one_it_refuses_while_another_run_holds_the_lake(sample_lake: Path) -> None:
    settings = api.settings(lake=sample_lake, date=SAMPLE_DATE)
    before = sorted(p.name for p in (sample_lake / "_moviedl" / "runs").iterdir())

    with lock_lake(LocalLake(sample_lake), LockOwner.current("other-run", "refine")):
        with pytest.raises(UsageError) as refused:
            api.refine(settings)

    assert refused.value.exit_code == ExitCode.BAD_INPUT
    assert "other-run" in refused.value.message
    # Refused before its work: no run record, nothing changed.
    assert sorted(p.name for p in (sample_lake / "_moviedl" / "runs").iterdir()) == before


def test_refine_keeps_as_many_old_versions_as_the_settings_say(sample_lake: Path, tmp_path: Path) -> None:
    (tmp_path / "moviedl.toml").write_text("[refine]\nkeep_versions = 1\n", "utf-8")
    header, first, *_ = (SAMPLES / "movies.csv").read_text("utf-8").splitlines()
    imdb_id = first.split("|", 1)[0]
    for n, day in enumerate(("2024-05-02", "2024-05-03", "2024-05-04")):
        csv = tmp_path / day / "movies.csv"
        csv.parent.mkdir()
        csv.write_text(f"{header}\n{first.replace(imdb_id, f'tt990000{n}')}\n", "utf-8")  # a new title each day
        settings = api.settings(lake=sample_lake, date=day, config=tmp_path / "moviedl.toml")
        assert api.ingest_csv(settings, [csv]).ok
        assert api.refine(settings).ok

    # DimFilmes changed three times; keep_versions = 1 keeps only the newest replaced version.
    versions = list((sample_lake / VERSIONS_PREFIX / "Refined" / "DimFilmes").rglob("*.parquet"))
    assert len(versions) == 1
    assert rows_of(sample_lake, "DimFilmes") == duckdb.connect().execute(
        "SELECT count(*) FROM read_parquet($p)", {"p": str(versions[0])}).fetchall()[0][0] + 1


def test_athena_ddl_returns_a_summary_with_the_ddl(sample_lake: Path) -> None:
    settings = api.settings(lake=sample_lake, date=SAMPLE_DATE)

    summary = api.athena_ddl(settings, DdlOptions(location="s3://bucket/lake"))

    assert summary.ok and summary.command == "athena-ddl"
    assert summary.output is not None
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`dim_filmes`" in summary.output
    assert summary.counts["statements"] == summary.output.count(";")


def test_athena_policies_need_no_lake(tmp_path: Path) -> None:
    settings = api.settings(lake=tmp_path / "never-created", date=SAMPLE_DATE)

    summary = api.athena_ddl(settings, DdlOptions(location="s3://bucket/lake", policy=True))

    assert summary.ok and summary.output is not None
    assert "arn:aws:s3:::bucket" in summary.output
    assert not (tmp_path / "never-created").exists()


def test_read_only_calls_refuse_a_lake_that_does_not_exist(tmp_path: Path) -> None:
    settings = api.settings(lake=tmp_path / "typo", date=SAMPLE_DATE)

    for call in (api.validate, api.runs, api.report, api.athena_ddl):
        with pytest.raises(UsageError, match="no lake at"):
            call(settings)

    assert not (tmp_path / "typo").exists()


def test_validate_returns_a_failed_summary_rather_than_raising(sample_lake: Path) -> None:
    (sample_lake / "Refined" / "DimGenero" / "data.parquet").unlink()
    settings = api.settings(lake=sample_lake, date=SAMPLE_DATE)

    summary = api.validate(settings)

    assert summary.exit_code == ExitCode.CHECK_FAILED and not summary.ok
    assert any("dim_genero" in problem for problem in summary.problems)


def test_config_show_lists_each_setting_with_its_source(tmp_path: Path) -> None:
    summary = api.config_show(api.settings(lake=tmp_path / "lake", **{"tmdb.concurrency": 3}))

    by_key = {row["key"]: row for row in summary.rows}
    assert by_key["tmdb.concurrency"]["value"] == 3
    assert by_key["lake"]["source"] != "default"
    assert by_key["s3.max_attempts"]["source"] == "default"
    json.dumps(summary.to_dict())  # what --format json prints
