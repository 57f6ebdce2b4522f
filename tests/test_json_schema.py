"""``--format json``: one schema for every command (docs/summary.schema.json), success or failure:
snake_case keys, numbers as numbers, lists as lists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer

from moviedl.cli import app
from tests.conftest import SAMPLE_DATE, SAMPLES

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "docs/summary.schema.json").read_text())
TYPES = {"string": str, "number": (int, float), "integer": int, "boolean": bool, "null": type(None),
         "array": list, "object": dict}


def violations(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """What in ``value`` breaks ``schema`` (the JSON Schema keywords the schema file uses)."""
    if "$ref" in schema:
        schema = SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    found: list[str] = []
    if "type" in schema:
        kinds = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        fits = any(isinstance(value, TYPES[k]) and not (k in ("number", "integer") and isinstance(value, bool))
                   for k in kinds)
        if not fits:
            return [f"{where}: {value!r} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not one of {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        found.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if "minimum" in schema and isinstance(value, int | float) and value < schema["minimum"]:
        found.append(f"{where}: {value!r} < {schema['minimum']}")
    if isinstance(value, dict):
        found += [f"{where}: {k} missing" for k in schema.get("required", []) if k not in value]
        properties = schema.get("properties", {})
        for key, item in value.items():
            if "propertyNames" in schema:
                found += violations(key, schema["propertyNames"], f"{where}.{key} (key)")
            if key in properties:
                found += violations(item, properties[key], f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{where}: unexpected key {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += violations(item, schema["additionalProperties"], f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            found += violations(item, schema["items"], f"{where}[{n}]")
    return found


def test_the_validator_catches_what_the_schema_forbids() -> None:
    good = {"command": "runs", "lake": "/l", "date": None, "ok": True, "exit_code": 0, "counts": {"runs": 1},
            "rows": [{"run_id": "x", "stages": [{"stage": "refine", "exit_code": 0}]}], "checks": [],
            "problems": [], "notes": []}
    assert violations(good, SCHEMA) == []
    assert violations({**good, "counts": {"stages run": 1}}, SCHEMA)  # a key with a space
    assert violations({**good, "counts": {"rows_out": "970,146"}}, SCHEMA)  # a number as prose
    assert violations({**good, "counts": {"rows_out": -1}}, SCHEMA)
    assert violations({**good, "rows": [{"exit code": 0}]}, SCHEMA)
    assert violations({**good, "exit_code": 5}, SCHEMA)
    assert violations({key: v for key, v in good.items() if key != "notes"}, SCHEMA)


def _commands(group: Any, prefix: str = "") -> set[str]:
    names = set()
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            names |= _commands(command, f"{prefix}{name} ")
        else:
            names.add(f"{prefix}{name}")
    return names


@pytest.fixture
def tmdb(fake_tmdb, monkeypatch):
    from tests.fake_tmdb import API_KEY

    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", fake_tmdb.url)
    monkeypatch.setenv("TMDB_API_KEY", API_KEY)
    return fake_tmdb


def test_every_command_prints_one_object_of_the_schema(invoke, sample_lake: Path, tmp_path: Path, tmdb) -> None:
    lake = str(sample_lake)
    movies, series = str(SAMPLES / "movies.csv"), str(SAMPLES / "series.csv")
    bad = tmp_path / "movies.csv"
    bad.write_text("id,tituloPincipal\n1,x\n")
    newest = json.loads(invoke("runs", "--lake", lake, "--format", "json").stdout)["rows"][0]["run_id"]
    cases = {
        "ingest-csv": [["ingest-csv", movies, series, "--lake", lake, "--date", SAMPLE_DATE],
                       ["ingest-csv", str(bad), "--lake", lake]],
        "ingest-tmdb": [["ingest-tmdb", "--lake", lake, "--date", SAMPLE_DATE, "--limit", "3"]],
        "refine": [["refine", "--lake", lake, "--date", SAMPLE_DATE, "-v"]],
        "validate": [["validate", "--lake", lake, "--date", SAMPLE_DATE], ["validate", "--lake", str(tmp_path / "none")]],
        "athena-ddl": [["athena-ddl", "--lake", lake, "--dialect", "duckdb"], ["athena-ddl", "--lake", lake, "--policy"]],
        "report": [["report", "--lake", lake, "-o", str(tmp_path / "r.html")]],
        "run": [["run", movies, series, "--lake", str(tmp_path / "run-lake"), "--date", SAMPLE_DATE]],
        "runs": [["runs", "--lake", lake], ["runs", "show", newest, "--lake", lake],
                 ["runs", "show", "2", "--lake", lake]],  # "2": the start of several ids, exit 2
        "init": [["init", str(tmp_path / "moviedl.toml")], ["init", str(tmp_path / "moviedl.toml")]],  # then: exists
        "config show": [["config", "show", "--lake", lake]],
        "glue-job deploy": [["glue-job", "deploy", "--lake", lake]],  # needs an s3:// lake: a failure summary
        "glue-job start": [["glue-job", "start", "--lake", lake]],
        "glue-job status": [["glue-job", "status", "--lake", lake]],
        "quicksight deploy": [["quicksight", "deploy", "--lake", lake, "--dry-run", "--principal",
                               "arn:aws:quicksight:us-east-1:123456789012:group/default/analysts"],
                              ["quicksight", "deploy", "--lake", lake, "--dry-run"]],  # no principal: exit 2
        "quicksight status": [["quicksight", "status", "--lake", lake]],  # no region: exit 2
        "quicksight remove": [["quicksight", "remove", "--lake", lake]],
    }
    cli = typer.main.get_command(app)
    missing = _commands(cli) - set(cases)
    assert not missing, f"commands without a schema test: {missing}"
    for name, runs in cases.items():
        for argv in runs:
            result = invoke(*argv, "--format", "json")
            summary = json.loads(result.stdout)  # one object, nothing else on stdout
            assert violations(summary, SCHEMA) == [], (argv, summary)
            assert summary["exit_code"] == result.exit_code and summary["ok"] is (result.exit_code == 0)
            assert summary["command"] in (name, f"{name} show"), argv
