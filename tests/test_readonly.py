"""Read-only commands (validate, report, runs, athena-ddl) never create a lake: a local folder that
does not exist, or an S3 prefix that holds no object, is refused with exit 2 and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import list_lake

DATE = ("--date", "2024-05-01")

READ_ONLY = {
    "validate": ("validate",),
    "report": ("report",),
    "runs": ("runs",),
    "athena-ddl": ("athena-ddl", "--dialect", "duckdb"),
}


def _flat(text: str) -> str:
    return " ".join(text.split())


def _where(lake_uri: str) -> str:
    return str(Path(lake_uri).absolute()) if not lake_uri.startswith("s3://") else lake_uri


@pytest.mark.parametrize("command", READ_ONLY)
def test_read_only_command_on_a_missing_lake_exits_2_and_creates_nothing(
    invoke, lake_uri: str, s3, tmp_path: Path, command: str
) -> None:
    out = tmp_path / "report.html"
    extra = ("-o", out) if command == "report" else ()
    result = invoke(*READ_ONLY[command], "--lake", lake_uri, *extra)
    assert result.exit_code == 2, result.output
    message = _flat(result.stderr)
    assert f"Error: no lake at {_where(lake_uri)}" in message
    assert "--lake / MOVIEDL_LAKE" in message and "moviedl ingest-csv" in message
    assert "Traceback" not in result.output
    if lake_uri.startswith("s3://"):
        assert list_lake(lake_uri, s3) == []
    else:
        assert not Path(lake_uri).exists()
    assert not out.exists()


def test_missing_lake_in_json(invoke, tmp_path: Path) -> None:
    result = invoke("validate", "--lake", tmp_path / "nothing", "--format", "json")
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == 2 and summary["problems"][0].startswith(f"no lake at {tmp_path / 'nothing'}")
    assert not (tmp_path / "nothing").exists()


@pytest.mark.parametrize("command", ["report", "runs"])
def test_missing_bucket_stays_exit_3(invoke, aws_env: str, tmp_path: Path, command: str) -> None:
    result = invoke(command, "--lake", "s3://no-such-bucket-readonly/lake", "-o" if command == "report" else "--last",
                    tmp_path / "r.html" if command == "report" else 3)
    assert result.exit_code == 3 and "no-such-bucket-readonly" in result.stderr


def test_an_s3_lake_with_objects_elsewhere_in_the_bucket_is_still_missing(invoke, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="data/lake2/something.txt", Body=b"x")
    result = invoke("runs", "--lake", f"s3://{bucket}/data/lake")
    assert result.exit_code == 2 and f"no lake at s3://{bucket}/data/lake" in _flat(result.stderr)
    s3.put_object(Bucket=bucket, Key="data/lake/_moviedl/runs/20240501T000000Z-abcdef.json",
                  Body=json.dumps({"run_id": "20240501T000000Z-abcdef", "command": "run", "exit_code": 0}).encode())
    listed = invoke("runs", "--lake", f"s3://{bucket}/data/lake", "--format", "json")
    assert listed.exit_code == 0 and json.loads(listed.stdout)["counts"] == {"runs": 1}


def test_an_existing_empty_folder_is_a_lake(invoke, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    assert invoke("runs", "--lake", lake).exit_code == 0
    result = invoke("validate", "--lake", lake)
    assert result.exit_code == 2 and "holds no Raw or Trusted data" in result.stderr


@pytest.mark.parametrize("args", [("config", "show"), ("athena-ddl", "--policy", "--location", "s3://up/lake")])
def test_commands_that_need_no_lake(invoke, tmp_path: Path, args) -> None:
    lake = tmp_path / "nothing"
    result = invoke(*args, "--lake", lake)
    assert result.exit_code == 0, result.output
    assert not lake.exists()


def test_writing_commands_still_create_the_lake(invoke, lake_uri: str, s3, movies_csv: Path) -> None:
    result = invoke("ingest-csv", movies_csv, "--lake", lake_uri, *DATE)
    assert result.exit_code == 0, result.output
    keys = list_lake(lake_uri, s3)
    assert "Raw/Local/CSV/Movies/2024/05/01/movies.csv" in keys
    assert any(k.startswith("_moviedl/runs/") for k in keys)
    assert invoke("runs", "--lake", lake_uri).exit_code == 0
