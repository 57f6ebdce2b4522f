"""``moviedl glue-job deploy|start|status`` against moto running as a server, and the job's script.

moto runs no Glue job: a started run only walks through its states. What is proven here is what
moviedl sends and stores — the job definition, the uploaded wheel and script, the run's
arguments, the exit codes — and that the script, given the job's arguments, refines a lake.

moto 5.2 does not implement UpdateJob; :func:`moto_update_job` adds it to the in-process moto
server with the semantics AWS documents (the ``JobUpdate`` replaces the job's definition:
whatever it leaves out is reset), so that deploying twice can be tested.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from moviedl import api, glue_entry
from moviedl.core.errors import ExitCode, ServiceError
from moviedl.core.summary import Summary
from moviedl.stages import glue_job
from tests.conftest import SAMPLE_DATE, SAMPLES, run_commands, untimed

ROLE = "arn:aws:iam::123456789012:role/moviedl-glue-job"
ROOT = Path(__file__).resolve().parent.parent


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def moto_update_job() -> Iterator[None]:
    """UpdateJob for moto's Glue (see the module docstring); nothing when moto has its own."""
    from moto.core.responses import ActionResult
    from moto.glue.models import GlueBackend
    from moto.glue.responses import GlueResponse

    if hasattr(GlueResponse, "update_job"):
        yield
        return
    fields = {"Description": "description", "LogUri": "log_uri", "Role": "role", "Command": "command",
              "ExecutionProperty": "execution_property", "DefaultArguments": "default_arguments",
              "NonOverridableArguments": "non_overridable_arguments", "Connections": "connections",
              "MaxRetries": "max_retries", "Timeout": "timeout", "GlueVersion": "glue_version",
              "WorkerType": "worker_type", "NumberOfWorkers": "number_of_workers",
              "SecurityConfiguration": "security_configuration",
              "NotificationProperty": "notification_property", "ExecutionClass": "execution_class"}

    def backend_update_job(self: Any, name: str, update: dict[str, Any]) -> None:
        from moto.core.utils import utcnow

        job = self.get_job(name)
        for field, attribute in fields.items():
            setattr(job, attribute, update.get(field))
        job.execution_property = job.execution_property or {}
        job.default_arguments = job.default_arguments or {}
        job.last_modified_on = utcnow()

    def update_job(self: Any) -> Any:
        name = self._get_param("JobName")
        self.glue_backend.update_job(name, self._get_param("JobUpdate") or {})
        return ActionResult({"JobName": name})

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(GlueBackend, "update_job", backend_update_job, raising=False)
        mp.setattr(GlueResponse, "update_job", update_job, raising=False)
        yield


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, built once for the module the way deploy builds it."""
    return glue_job.build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def glue(aws_env: str):
    return boto3.client("glue", endpoint_url=aws_env, region_name="us-east-1")


@pytest.fixture
def job_name(monkeypatch: pytest.MonkeyPatch) -> str:
    """A job of its own for each test (the moto server lives for the whole session)."""
    name = f"moviedl-refine-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MOVIEDL_GLUE_JOB_NAME", name)
    return name


@pytest.fixture
def s3_lake(bucket: str, job_name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An S3 lake on moto, a Glue role configured, and a job name of its own."""
    monkeypatch.setenv("MOVIEDL_GLUE_ROLE_ARN", ROLE)
    return f"s3://{bucket}/data/lake"


@pytest.fixture
def stepped_runs(moto_endpoint: str) -> Iterator[None]:
    """moto's job runs go STARTING → RUNNING → SUCCEEDED, one step per poll."""
    url = f"{moto_endpoint}/moto-api/state-manager"
    model = "glue::job_run"
    requests.post(f"{url}/set-transition", json={"model_name": model,
                                                 "transition": {"progression": "manual", "times": 1}}, timeout=5)
    yield
    requests.post(f"{url}/unset-transition", json={"model_name": model}, timeout=5)


@pytest.fixture
def endless_runs(moto_endpoint: str) -> Iterator[None]:
    """moto's job runs stay STARTING."""
    url = f"{moto_endpoint}/moto-api/state-manager"
    model = "glue::job_run"
    requests.post(f"{url}/set-transition", json={"model_name": model,
                                                 "transition": {"progression": "manual", "times": 10_000}}, timeout=5)
    yield
    requests.post(f"{url}/unset-transition", json={"model_name": model}, timeout=5)


def _json(result: Any) -> dict[str, Any]:
    assert result.stdout.strip(), result.output
    return dict(json.loads(result.stdout))


def _flat(text: str) -> str:
    return " ".join(text.split())


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _variant(wheel: Path, folder: Path, n: int) -> Path:
    """A copy of ``wheel`` with one more file in it: another digest, still a valid moviedl wheel."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / wheel.name
    shutil.copy(wheel, copy)
    with zipfile.ZipFile(copy, "a") as archive:
        archive.writestr("moviedl/_variant.txt", str(n))
    return copy


# --- deploy ---------------------------------------------------------------------------------------


def test_deploy_uploads_the_wheel_and_script_and_creates_a_glue_5_job(
    invoke, s3_lake: str, bucket: str, job_name: str, glue, s3, clean_env: Path
) -> None:
    (clean_env / "moviedl.toml").write_text('[refine]\nkeep_versions = 5\n[glue]\nworkers = 4\n')
    result = invoke("glue-job", "deploy", "--lake", s3_lake, "--format", "json")  # builds the wheel
    assert result.exit_code == 0, result.output
    summary = _json(result)
    assert summary["rows"][0]["action"] == "created" and summary["rows"][0]["job"] == job_name

    job = glue.get_job(JobName=job_name)["Job"]
    assert job["GlueVersion"] == "5.0" and job["Role"] == ROLE
    assert job["WorkerType"] == "G.1X" and job["NumberOfWorkers"] == 4
    assert job["Timeout"] == 60 and job["MaxRetries"] == 0
    command = job["Command"]
    assert command["Name"] == "glueetl" and command["PythonVersion"] == "3"
    prefix = f"s3://{bucket}/data/lake/_moviedl/glue/"
    assert command["ScriptLocation"].startswith(prefix) and command["ScriptLocation"].endswith("/glue_entry.py")
    arguments = job["DefaultArguments"]
    wheel_uri = arguments["--additional-python-modules"]
    assert wheel_uri.startswith(prefix) and wheel_uri.endswith("/moviedl-0.1.0-py3-none-any.whl")
    assert wheel_uri.rsplit("/", 1)[0] == command["ScriptLocation"].rsplit("/", 1)[0]  # one folder
    assert arguments["--lake"] == s3_lake
    assert arguments["--enable-continuous-cloudwatch-log"] == "true"
    # the deployer's settings the run needs, when not defaults (AWS_DEFAULT_REGION: the fixture's)
    assert json.loads(arguments["--moviedl-settings"]) == {"aws.region": "us-east-1", "refine.keep_versions": 5}

    # the stored wheel is a wheel of moviedl holding the script; the stored script is that file
    stored = s3.get_object(Bucket=bucket, Key=wheel_uri[len(f"s3://{bucket}/"):])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(stored)) as archive:
        names = set(archive.namelist())
        assert {"moviedl/__init__.py", "moviedl/glue_entry.py", "moviedl/api.py",
                "moviedl-0.1.0.dist-info/METADATA", "moviedl-0.1.0.dist-info/WHEEL"} <= names
        assert any(n.startswith("moviedl/sql/") and n.endswith(".sql") for n in names)  # package data too
        assert "Tag: py3-none-any" in archive.read("moviedl-0.1.0.dist-info/WHEEL").decode()
        assert "Requires-Dist: duckdb" in archive.read("moviedl-0.1.0.dist-info/METADATA").decode()
        entry = archive.read("moviedl/glue_entry.py")
    script = s3.get_object(Bucket=bucket, Key=command["ScriptLocation"][len(f"s3://{bucket}/"):])["Body"].read()
    assert script == entry == (ROOT / "moviedl" / "glue_entry.py").read_bytes()
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_deploying_again_updates_the_job_and_keeps_only_the_artefacts_it_may_still_need(
    invoke, s3_lake: str, bucket: str, job_name: str, glue, s3, wheel: Path, tmp_path: Path
) -> None:
    folders = []
    for n in range(3):
        result = invoke("glue-job", "deploy", "--lake", s3_lake, "--wheel", _variant(wheel, tmp_path / str(n), n),
                        "--format", "json")
        assert result.exit_code == 0, result.output
        assert _json(result)["rows"][0]["action"] == ("created" if n == 0 else "updated")
        location = glue.get_job(JobName=job_name)["Job"]["Command"]["ScriptLocation"]
        folders.append(location.rsplit("/", 2)[-2])
    assert len(set(folders)) == 3
    assert [j for j in glue.get_jobs()["Jobs"] if j["Name"] == job_name] != []
    assert sum(j["Name"] == job_name for j in glue.get_jobs()["Jobs"]) == 1  # updated, not duplicated
    kept = {key.split("/")[4] for key in _keys(s3, bucket, "data/lake/_moviedl/glue/")}
    assert kept == set(folders[1:])  # the job's, and the one it replaced (a run may have just started)
    assert _json(result)["counts"]["old_artefacts_removed"] == 2  # the first deploy's wheel and script


def test_deploy_without_a_role_exits_2_and_uploads_nothing(
    invoke, bucket: str, job_name: str, s3, wheel: Path
) -> None:
    result = invoke("glue-job", "deploy", "--lake", f"s3://{bucket}/lake", "--wheel", wheel)
    assert result.exit_code == 2
    assert "glue.role_arn is not set" in _flat(result.stderr) and "MOVIEDL_GLUE_ROLE_ARN" in _flat(result.stderr)
    assert _keys(s3, bucket, "") == []


def test_a_bad_role_arn_is_bad_configuration(invoke, bucket: str, job_name: str) -> None:
    result = invoke("glue-job", "deploy", "--lake", f"s3://{bucket}/lake", "--role-arn", "moviedl-glue-job")
    assert result.exit_code == 2 and "expected an IAM role ARN" in _flat(result.stderr)


@pytest.mark.parametrize("command", [("deploy",), ("start", "--date", SAMPLE_DATE)])
def test_a_local_lake_cannot_have_a_glue_job(invoke, tmp_path: Path, command: tuple[str, ...], wheel: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIEDL_GLUE_ROLE_ARN", ROLE)
    result = invoke("glue-job", *command, "--lake", tmp_path / "lake", *(["--wheel", wheel] if command[0] == "deploy" else []))
    assert result.exit_code == 2
    assert "a Glue job needs an s3:// lake" in _flat(result.stderr)
    assert not (tmp_path / "lake").exists()


def test_wheel_option_refuses_what_is_not_a_moviedl_wheel_with_the_script(
    invoke, s3_lake: str, tmp_path: Path
) -> None:
    text = tmp_path / "moviedl-0.1.0-py3-none-any.whl"
    text.write_text("not a zip")
    old = tmp_path / "old" / "moviedl-0.0.1-py3-none-any.whl"
    old.parent.mkdir()
    with zipfile.ZipFile(old, "w") as archive:
        archive.writestr("moviedl/__init__.py", "")
    other = tmp_path / "requests-2.0-py3-none-any.whl"
    other.write_bytes(b"")
    for path, message in [(text, "not a zip archive"), (old, "holds no moviedl/glue_entry.py"),
                          (other, "not a moviedl wheel"), (tmp_path / "missing.whl", "no such file")]:
        result = invoke("glue-job", "deploy", "--lake", s3_lake, "--wheel", path)
        assert result.exit_code == 2 and message in _flat(result.stderr), (path, result.stderr)


def test_without_its_sources_moviedl_asks_for_a_wheel(wheel: Path, tmp_path: Path) -> None:
    """moviedl installed from the wheel (no checkout around it) cannot build one: exit 2, --wheel."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                    "--disable-pip-version-check", "--target", str(target), str(wheel)], check=True, timeout=120)
    probe = (
        "import moviedl, sys; from moviedl.stages import glue_job; from moviedl.core.errors import UsageError\n"
        f"assert moviedl.__file__.startswith({str(target)!r}), moviedl.__file__\n"
        "assert glue_job.source_root() is None\n"
        "try:\n    glue_job.build_wheel(__import__('pathlib').Path('.'))\n"
        "except UsageError as exc:\n    print(exc.exit_code, str(exc))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(target)}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 moviedl is installed without its sources") and "--wheel PATH" in done.stdout


# --- start and status -----------------------------------------------------------------------------


def test_start_passes_date_stage_and_lake_and_status_lists_the_run(
    invoke, s3_lake: str, job_name: str, glue, wheel: Path
) -> None:
    assert invoke("glue-job", "deploy", "--lake", s3_lake, "--wheel", wheel).exit_code == 0
    result = invoke("glue-job", "start", "--lake", s3_lake, "--date", SAMPLE_DATE, "--stage", "trusted",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    started = _json(result)
    run_id = started["rows"][0]["run_id"]
    assert run_id.startswith("jr_") and started["date"] == SAMPLE_DATE
    assert f"moviedl glue-job status --run-id {run_id}" in started["notes"][0]

    run = glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
    arguments = run["Arguments"]  # the job's default arguments, overridden by the run's
    assert arguments["--date"] == SAMPLE_DATE and arguments["--stage"] == "trusted"
    assert arguments["--lake"] == s3_lake and arguments["--additional-python-modules"].endswith(".whl")

    second = invoke("glue-job", "start", "--lake", s3_lake, "--format", "json")  # no --date: refine's choice
    assert second.exit_code == 0, second.output
    second_id = _json(second)["rows"][0]["run_id"]
    assert "--date" not in glue.get_job_run(JobName=job_name, RunId=second_id)["JobRun"]["Arguments"]

    listed = invoke("glue-job", "status", "--lake", s3_lake, "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = _json(listed)["rows"]
    assert {r["run_id"] for r in rows} == {run_id, second_id}
    first = next(r for r in rows if r["run_id"] == run_id)
    assert first["state"] == "SUCCEEDED" and first["date"] == SAMPLE_DATE and first["stage"] == "trusted"
    assert first["started"].endswith("Z") and first["ended"] and first["error"] == ""
    one = _json(invoke("glue-job", "status", "--run-id", run_id, "--format", "json"))
    assert [r["run_id"] for r in one["rows"]] == [run_id]
    assert len(_json(invoke("glue-job", "status", "--last", "1", "--format", "json"))["rows"]) == 1
    text = invoke("glue-job", "status")
    assert text.exit_code == 0 and run_id in text.stdout and "SUCCEEDED" in text.stdout


def test_start_wait_follows_the_run_to_its_end(
    invoke, s3_lake: str, job_name: str, wheel: Path, stepped_runs: None
) -> None:
    assert invoke("glue-job", "deploy", "--lake", s3_lake, "--wheel", wheel).exit_code == 0
    result = invoke("glue-job", "start", "--lake", s3_lake, "--date", SAMPLE_DATE, "--wait", "--format", "json")
    assert result.exit_code == 0, result.output
    row = _json(result)["rows"][0]
    assert row["state"] == "SUCCEEDED" and row["ended"] is not None


def test_a_run_still_going_when_the_wait_ends_is_exit_3_and_goes_on(
    s3_lake: str, job_name: str, wheel: Path, endless_runs: None
) -> None:
    settings = api.settings(lake=s3_lake, date=SAMPLE_DATE)
    api.glue_job_deploy(settings, glue_job.DeployOptions(wheel=wheel))
    with pytest.raises(ServiceError) as caught:
        api.glue_job_start(settings, wait=True, wait_seconds=0)
    assert caught.value.exit_code == ExitCode.SERVICE
    assert "is still STARTING after 0 min of waiting" in caught.value.message
    assert "moviedl glue-job status --run-id jr_" in str(caught.value.hint)


@pytest.mark.parametrize("state", ["FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED"])
def test_every_end_but_succeeded_is_exit_1_with_glues_reason(state: str) -> None:
    """moto's runs always succeed: the mapping is checked on GetJobRun answers of that shape."""
    summary = Summary("glue-job start", "s3://b/lake")
    run = {"Id": "jr_1", "JobRunState": state, "ErrorMessage": "SystemExit: 1",
           "LogGroupName": "/aws-glue/jobs"}
    glue_job._judge(summary, "moviedl-refine", run)
    assert summary.exit_code == ExitCode.CHECK_FAILED
    assert summary.problems == [f"Glue job run jr_1 of moviedl-refine ended {state}: SystemExit: 1"]
    assert "/aws-glue/jobs" in summary.notes[0]
    succeeded = Summary("glue-job start", "s3://b/lake")
    glue_job._judge(succeeded, "moviedl-refine", {**run, "JobRunState": "SUCCEEDED"})
    assert succeeded.exit_code == ExitCode.OK and not succeeded.problems


def test_start_before_deploy_exits_2(invoke, s3_lake: str, job_name: str) -> None:
    result = invoke("glue-job", "start", "--lake", s3_lake)
    assert result.exit_code == 2
    assert f"there is no Glue job {job_name}" in _flat(result.stderr) and "glue-job deploy" in result.stderr
    assert invoke("glue-job", "status").exit_code == 2


def test_a_bad_stage_exits_2(invoke, s3_lake: str) -> None:
    result = invoke("glue-job", "start", "--lake", s3_lake, "--stage", "raw")
    assert result.exit_code == 2 and "--stage 'raw'" in _flat(result.stderr)


def test_glue_unreachable_is_exit_3_with_one_error_line(
    invoke, s3_lake: str, wheel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_GLUE", "http://127.0.0.1:9")  # S3 still answers (moto)
    for args in (("status",), ("deploy", "--wheel", str(wheel)), ("start", "--date", SAMPLE_DATE)):
        result = invoke("glue-job", *args, "--lake", s3_lake)
        assert result.exit_code == 3, (args, result.output)
        errors = [line for line in untimed(result.stderr).splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "cannot reach Glue to" in errors[0], result.stderr
        assert "Traceback" not in result.output


# --- the job's script -----------------------------------------------------------------------------


@pytest.fixture
def raw_lake(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    run_commands(lake, ["ingest-csv", str(SAMPLES / "movies.csv"), str(SAMPLES / "series.csv"),
                        "--date", SAMPLE_DATE])
    return lake


def test_the_job_script_refines_the_lake_with_the_jobs_arguments(
    raw_lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--JOB_ID", "j_1", "--lake", str(raw_lake), "--JOB_RUN_ID", "jr_1", "--date", SAMPLE_DATE,
            "--TempDir", "s3://aws-glue-assets/temp/", "--enable-continuous-cloudwatch-log", "true",
            "--moviedl-settings", '{"refine.keep_versions": 1}']
    assert glue_entry.main(argv, engine="duckdb") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1  # stdout is the summary alone, for CloudWatch
    summary = json.loads(lines[0])
    assert summary["command"] == "refine" and summary["exit_code"] == 0 and summary["date"] == SAMPLE_DATE
    assert list((raw_lake / "Refined").rglob("*.parquet"))
    runs = list((raw_lake / "_moviedl" / "runs").glob("*.json"))
    assert [json.loads(p.read_text())["command"] for p in runs].count("refine") == 1  # its own run record


def test_the_job_script_exits_with_the_summarys_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    code = glue_entry.main(["--lake", str(empty), "--date", SAMPLE_DATE], engine="duckdb")
    summary = json.loads(capsys.readouterr().out)
    assert code == summary["exit_code"] != 0 and summary["problems"]
    bad = glue_entry.main(["--lake", str(empty), "--moviedl-settings", "{nope"], engine="duckdb")
    out = json.loads(capsys.readouterr().out)
    assert bad == 2 and "not JSON" in out["problems"][0]
    unknown = glue_entry.main(["--lake", str(empty), "--moviedl-settings", '{"no.such": 1}'], engine="duckdb")
    assert unknown == 2 and "no.such" in json.loads(capsys.readouterr().out)["problems"][0]


def test_the_job_script_defaults_to_spark_and_takes_no_date_or_stage_by_default() -> None:
    import inspect

    assert inspect.signature(glue_entry.main).parameters["engine"].default == "spark"
    args = glue_entry.parse_args(["--lake", "s3://b/l", "--JOB_NAME", "x"])
    assert (args.lake, args.date, args.stage, args.settings) == ("s3://b/l", None, "all", "{}")
    with pytest.raises(SystemExit):
        glue_entry.parse_args(["--lake", "s3://b/l", "--stage", "raw"])
