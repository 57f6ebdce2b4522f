"""Expected failures end in one readable message and the SPEC exit code — never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import untimed

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


# --- unexpected exceptions: exit 4, never 1 ---------------------------------------------------


def _boom(*args, **kwargs):
    raise RuntimeError("boom:\n  the second line")


def test_unexpected_exception_exits_4_with_one_line(invoke, tmp_path: Path, movies_csv: Path, monkeypatch) -> None:
    lake = tmp_path / "lake"
    assert invoke("ingest-csv", movies_csv, "--lake", lake, *DATE).exit_code == 0
    monkeypatch.setattr("moviedl.stages.refine.refine.refine", _boom)
    result = invoke("refine", "--lake", lake, *DATE)
    assert result.exit_code == 4
    assert "Traceback" not in result.output
    (line,) = untimed(result.stderr).strip().splitlines()
    assert line.startswith("Internal error, please report") and line.endswith("RuntimeError: boom: the second line")
    (record,) = [json.loads(p.read_text()) for p in (lake / "_moviedl/runs").glob("*.json")
                 if json.loads(p.read_text())["command"] == "refine"]
    assert record["exit_code"] == 4
    assert record["error"] == "internal error: RuntimeError: boom: the second line"


def test_unexpected_exception_in_json_summary(invoke, tmp_path: Path, movies_csv: Path, monkeypatch) -> None:
    monkeypatch.setattr("moviedl.stages.ingest_csv.ingest_csv", _boom)
    result = invoke("ingest-csv", movies_csv, "--lake", tmp_path / "lake", *DATE, "--format", "json")
    assert result.exit_code == 4
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["exit_code"] == 4
    assert summary["problems"] == ["internal error, please report: RuntimeError: boom: the second line"]


def test_debug_adds_the_traceback_and_keeps_the_exit_code(invoke, tmp_path: Path, movies_csv: Path,
                                                         monkeypatch) -> None:
    monkeypatch.setenv("MOVIEDL_DEBUG", "1")
    monkeypatch.setattr("moviedl.stages.ingest_csv.ingest_csv", _boom)
    result = invoke("ingest-csv", movies_csv, "--lake", tmp_path / "lake", *DATE, "--format", "json")
    assert result.exit_code == 4
    assert "Traceback" in result.stderr and "RuntimeError: boom" in result.stderr
    assert json.loads(result.stdout)["exit_code"] == 4  # the summary is still printed


@pytest.mark.parametrize("damage", ["bad header", "bad config"])
def test_debug_keeps_the_exit_code_of_a_library_error(invoke, tmp_path: Path, movies_csv: Path,
                                                      monkeypatch, damage: str) -> None:
    """MOVIEDL_DEBUG only adds the traceback of a raised error: a bad file or config still exits 2."""
    monkeypatch.setenv("MOVIEDL_DEBUG", "1")
    bad = tmp_path / "movies.csv"
    bad.write_text("id,titulo\n1,x\n" if damage == "bad header" else movies_csv.read_text())
    config = tmp_path / "moviedl.toml"
    config.write_text("lake = \n" if damage == "bad config" else "")
    result = invoke("ingest-csv", bad, "--config", config, "--lake", tmp_path / "lake", *DATE, "--format", "json")
    assert result.exit_code == 2, result.stderr
    assert ("Traceback" in result.stderr) is (damage == "bad config")  # raised: ConfigError
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == 2 and summary["ok"] is False and summary["problems"]


def test_unexpected_exception_in_a_real_process(tmp_path: Path, movies_csv: Path) -> None:
    import os
    import subprocess
    import sys

    lake = tmp_path / "lake"
    script = (
        "import sys, moviedl.stages.validate.validate\n"
        "def boom(*a, **k): raise KeyError('no such column')\n"
        "moviedl.stages.validate.validate.validate = boom\n"
        "from moviedl.cli import main\n"
        "sys.argv = ['moviedl', *sys.argv[1:]]\n"
        "main()\n"
    )
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root}
    subprocess.run([sys.executable, "-m", "moviedl", "ingest-csv", str(movies_csv), "--lake", str(lake), *DATE],
                   check=True, capture_output=True, env=env)
    done = subprocess.run([sys.executable, "-c", script, "validate", "--lake", str(lake), *DATE],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert "Internal error, please report" in done.stderr and "KeyError: 'no such column'" in done.stderr
    records = [json.loads(p.read_text()) for p in (lake / "_moviedl/runs").glob("*.json")]
    assert sorted((r["command"], r["exit_code"]) for r in records) == [("ingest-csv", 0), ("validate", 4)]
    debug = subprocess.run([sys.executable, "-c", script, "validate", "--lake", str(lake), *DATE],
                           capture_output=True, text=True, env={**env, "MOVIEDL_DEBUG": "1"})
    assert debug.returncode == 4 and "Traceback" in debug.stderr and "KeyError" in debug.stderr
    assert "Internal error, please report" in debug.stderr
