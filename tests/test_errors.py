"""Expected failures end in one readable message and the SPEC exit code — never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATE = ("--date", "2024-05-01")


@pytest.fixture
def refined_lake(invoke, tmp_path: Path, movies_csv: Path, series_csv: Path) -> Path:
    lake = tmp_path / "lake"
    assert invoke("run", movies_csv, series_csv, "--lake", lake, *DATE).exit_code == 0
    return lake


def test_unknown_aws_profile_is_bad_configuration(invoke, monkeypatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    result = invoke("runs", "--lake", "s3://bucket/lake")
    assert result.exit_code == 2
    assert "AWS profile 'no-such-profile' not found" in result.output


def test_lake_that_is_a_file(invoke, tmp_path: Path, movies_csv: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = invoke("ingest-csv", movies_csv, "--lake", tmp_path / "afile", *DATE)
    assert result.exit_code == 2
    assert "exists but is not a folder" in result.output


def test_lake_under_a_path_that_cannot_exist(invoke, tmp_path: Path, movies_csv: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = invoke("ingest-csv", movies_csv, "--lake", tmp_path / "afile" / "lake", *DATE)
    assert result.exit_code == 2
    assert "cannot lock the lake folder" in result.output and "Not a directory" in result.output


def test_report_output_is_a_folder(invoke, refined_lake: Path, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    result = invoke("report", "--lake", refined_lake, "-o", folder)
    assert result.exit_code == 2
    assert f"cannot write the report to {folder}" in result.output
    assert list(folder.parent.glob(".out.tmp-*")) == []


def test_report_on_a_damaged_table_names_it(invoke, refined_lake: Path, tmp_path: Path) -> None:
    data = refined_lake / "Refined/DimFilmes/data.parquet"
    data.write_bytes(data.read_bytes()[:100])
    result = invoke("report", "--lake", refined_lake, "-o", tmp_path / "r.html")
    assert result.exit_code == 1
    assert "the Refined zone of" in result.output and "moviedl validate" in result.output


def test_bad_duckdb_setting_stops_ingest_tmdb_cleanly(invoke, refined_lake: Path, tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "moviedl.toml"
    config.write_text('[duckdb]\nmemory_limit = "lots"\n')
    monkeypatch.setenv("TMDB_API_KEY", "k")
    result = invoke("ingest-tmdb", "--lake", refined_lake, *DATE, "--config", config)
    assert result.exit_code == 2
    assert "DuckDB refused its settings" in result.output


def test_a_record_that_is_not_an_object_is_listed_as_unreadable(invoke, refined_lake: Path) -> None:
    (refined_lake / "_moviedl/runs/29991231T000000Z-aaaaaa.json").write_text("[1, 2]")
    result = invoke("runs", "--lake", refined_lake, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["rows"][0]["error"] == "record unreadable"


def test_failed_command_still_prints_one_json_summary(invoke, tmp_path: Path) -> None:
    result = invoke("refine", "--lake", tmp_path / "empty", "--format", "json")
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["exit_code"] == 2 and summary["command"] == "refine"
    assert "holds no CSV or TMDB files" in summary["problems"][0]
