"""``moviedl glue-job deploy|start|status`` against moto running as a server, and the job's script.

moto runs no Glue job: a started run only walks through its states. What is proven here is what
moviedl sends and stores — the job definition, the uploaded wheel and script, the run's
arguments, the exit codes — and that the script, given the job's arguments, refines a lake.

moto 5.2 does not implement UpdateJob; :func:`moto_update_job` adds it to the in-process moto
server with the semantics AWS documents (the ``JobUpdate`` replaces the job's definition:
whatever it leaves out is reset), so that deploying twice can be tested.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.awsrequest import AWSResponse
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from moviedl import api, glue_entry
from moviedl.core.errors import ExitCode, ServiceError
from moviedl.core.summary import Summary
from moviedl.stages import glue_job
from moviedl.storage.s3 import S3Lake
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
    wheel_uri, *pins = arguments["--additional-python-modules"].split(",")
    assert pins == glue_job.pinned_modules() and "boto3==1.34.131" in pins  # Glue 5.0's own
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


# --- what the job installs ---------------------------------------------------------------------

#: The Python modules AWS Glue 5.0 provides, as "Python modules already provided in AWS Glue" lists
#: them: https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html
GLUE_5_0 = dict(line.split("==") for line in """
aiobotocore==2.13.1 aiohappyeyeballs==2.3.5 aiohttp==3.10.1 aioitertools==0.11.0 aiosignal==1.3.1
appdirs==1.4.4 attrs==24.2.0 boto3==1.34.131 botocore==1.34.131 certifi==2024.7.4
charset-normalizer==3.3.2 contourpy==1.2.1 cycler==0.12.1 fonttools==4.53.1 frozenlist==1.4.1
fsspec==2024.6.1 idna==2.10 jmespath==0.10.0 kaleido==0.2.1 kiwisolver==1.4.5 matplotlib==3.9.0
multidict==6.0.5 numpy==1.26.4 packaging==24.1 pandas==2.2.2 pillow==10.4.0 pip==23.0.1
plotly==5.23.0 pyarrow==17.0.0 pyparsing==3.1.2 python-dateutil==2.9.0.post0 pytz==2024.1
requests==2.32.2 s3fs==2024.6.1 s3transfer==0.10.2 seaborn==0.13.2 setuptools==59.6.0 six==1.16.0
tenacity==9.0.0 tzdata==2024.1 urllib3==1.25.10 virtualenv==20.4.0 wrapt==1.16.0 yarl==1.9.4
""".split())
GLUE = {canonicalize_name(name): version for name, version in GLUE_5_0.items()}
PINS = {canonicalize_name(name): (version, source) for name, version, source in glue_job.JOB_MODULES}


def _lock() -> dict[str, str]:
    lines = (ROOT / "requirements" / "test.lock").read_text("utf-8").splitlines()
    pairs = (line.split("#", 1)[0].strip().split("==") for line in lines)
    return {canonicalize_name(pair[0]): pair[1] for pair in pairs if len(pair) == 2}


def test_the_job_pins_every_dependency_to_glues_version_or_the_tested_one() -> None:
    """Every dependency pyproject.toml declares is pinned, within its declared range: to Glue
    5.0's own version when Glue provides it (so pip upgrades nothing Glue runs on), else to the
    version CI tests (requirements/test.lock)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    declared = {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}
    lock = _lock()
    assert len(PINS) == len(glue_job.JOB_MODULES)  # no package twice
    assert set(declared) <= set(PINS), set(declared) - set(PINS)
    for name, requirement in declared.items():
        assert requirement.specifier.contains(PINS[name][0], prereleases=True), (name, PINS[name])
    for name, (version, source) in PINS.items():
        if source == "glue":
            assert GLUE.get(name) == version, (name, version, GLUE.get(name))
        else:
            assert source == "lock" and name not in GLUE, (name, source)
            assert lock.get(name) == version, (name, version, lock.get(name))


def test_what_the_pinned_packages_require_is_pinned_or_glues_version_satisfies_it() -> None:
    """Walks the requirements of the lock-pinned packages (their metadata in this environment,
    which the lock installed; Linux, Python 3.11 as on Glue 5.0): each package reached is pinned to
    the lock's version, or is one Glue 5.0 provides at a version that satisfies the requirement —
    pip on Glue then upgrades nothing and resolves nothing to "the newest"."""
    import importlib.metadata as metadata

    todo = [name for name, (_version, source) in PINS.items() if source == "lock"]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        version, source = PINS[name]
        assert source == "lock"
        installed = metadata.distribution(name)
        if Version(installed.version) != Version(version):
            pytest.skip(f"{name} {installed.version} is installed, not the lock's {version}")
        for line in installed.requires or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            wanted = canonicalize_name(requirement.name)
            if wanted in GLUE:
                assert requirement.specifier.contains(GLUE[wanted], prereleases=True), (name, line)
            else:
                assert wanted in PINS, f"{name} requires {line}: pin it in JOB_MODULES"
                todo.append(wanted)


def test_docs_list_the_pins() -> None:
    docs = (ROOT / "docs" / "scale.md").read_text("utf-8")
    for name, version, _source in glue_job.JOB_MODULES:
        assert re.search(rf"`{re.escape(name)}` \| {re.escape(version)} ", docs), (name, version)


def test_building_twice_gives_the_same_wheel_and_a_valid_one(wheel: Path, tmp_path: Path) -> None:
    """Same sources, same bytes, so the same artefact folder (the digest); pip installs the wheel
    (test_without_its_sources_moviedl_asks_for_a_wheel), and its RECORD matches its contents."""
    again = glue_job.build_wheel(tmp_path)
    assert again.read_bytes() == wheel.read_bytes()
    script = glue_job.extract_script(again, tmp_path)
    assert glue_job._digest(again, script) == glue_job._digest(wheel, glue_job.extract_script(wheel, tmp_path))
    with zipfile.ZipFile(again) as archive:
        infos = archive.infolist()
        assert all(info.date_time == glue_job.WHEEL_EPOCH for info in infos)
        names = [info.filename for info in infos]
        assert names[-1] == "moviedl-0.1.0.dist-info/RECORD"
        record = archive.read(names[-1]).decode().splitlines()
        listed = {}
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            listed[path] = (digest, size)
        assert set(listed) == set(names)
        for name in names[:-1]:
            data = archive.read(name)
            expected = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert listed[name] == (expected, str(len(data))), name
        assert listed[names[-1]] == ("", "")


# --- a deploy that fails --------------------------------------------------------------------------


def _refuse(client: Any, operation: str, code: str, message: str, status: int = 400,
            when: Any = lambda request: True) -> None:
    """Make ``client`` answer ``operation`` (when ``when`` holds for the serialized request) with a
    refusal, at the client's boundary as botocore's Stubber does: the error goes through botocore's
    and moviedl's error handling."""
    def answer(params: dict[str, Any], **_: Any) -> Any:
        if not when(params):
            return None
        return AWSResponse("", status, {}, None), {
            "Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}

    client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}",
                                answer)


class Deployer:
    """``deploy`` with an S3 lake and a Glue client of the test's own, which it can make refuse."""

    def __init__(self, lake_uri: str, glue: Any) -> None:
        self.settings = api.settings(lake=lake_uri)
        self.lake = S3Lake(lake_uri, self.settings)
        self.glue = glue

    def __call__(self, wheel: Path) -> Summary:
        return glue_job.deploy(self.settings, self.lake, glue_job.DeployOptions(wheel=wheel), glue=self.glue)


@pytest.fixture
def deploy_to(s3_lake: str, glue) -> Deployer:
    return Deployer(s3_lake, glue)


def test_a_failed_upload_removes_what_the_deploy_uploaded(
    deploy_to: Deployer, bucket: str, job_name: str, glue, s3, wheel: Path
) -> None:
    _refuse(deploy_to.lake.client, "PutObject", "AccessDenied", "Access Denied", 403,
            when=lambda request: request["url_path"].endswith("/glue_entry.py"))
    with pytest.raises(ServiceError) as caught:
        deploy_to(wheel)
    assert caught.value.exit_code == ExitCode.SERVICE
    assert caught.value.message.startswith("access denied to write s3://") and "glue_entry.py" in caught.value.message
    assert "could not be removed" not in str(caught.value.hint)
    assert _keys(s3, bucket, "") == []  # the wheel, uploaded first, is gone again
    assert job_name not in {j["Name"] for j in glue.get_jobs()["Jobs"]}


def test_a_clean_up_that_fails_too_is_named_in_the_hint(deploy_to: Deployer, bucket: str, s3, wheel: Path) -> None:
    _refuse(deploy_to.lake.client, "PutObject", "AccessDenied", "Access Denied", 403,
            when=lambda request: request["url_path"].endswith("/glue_entry.py"))
    _refuse(deploy_to.lake.client, "DeleteObject", "AccessDenied", "Access Denied", 403)
    with pytest.raises(ServiceError) as caught:
        deploy_to(wheel)
    assert caught.value.message.startswith("access denied to write s3://")  # the first failure
    assert "could not be removed (access denied to delete s3://" in str(caught.value.hint)
    assert "the next deploy removes it" in str(caught.value.hint)
    assert len(_keys(s3, bucket, "")) == 1  # the wheel, left behind


def test_a_refused_create_job_removes_the_upload_and_exits_as_before(
    deploy_to: Deployer, bucket: str, job_name: str, glue, s3, wheel: Path
) -> None:
    message = f"User is not authorized to perform: iam:PassRole on resource: {ROLE}"
    _refuse(glue, "CreateJob", "AccessDeniedException", message)
    with pytest.raises(ServiceError) as caught:
        deploy_to(wheel)
    assert caught.value.exit_code == ExitCode.SERVICE
    assert caught.value.message == f"Glue refused to create the job {job_name} (AccessDeniedException): {message}"
    assert _keys(s3, bucket, "") == []


def test_a_failed_update_keeps_the_folders_that_existed_before(
    deploy_to: Deployer, bucket: str, job_name: str, glue, s3, wheel: Path, tmp_path: Path
) -> None:
    deploy_to(wheel)
    before = _keys(s3, bucket, "")
    assert len(before) == 2

    def delete_the_job(**_: Any) -> None:  # someone deletes the job between GetJob and UpdateJob:
        glue.meta.events.unregister("before-call.glue.UpdateJob", delete_the_job)
        boto3.client("glue", endpoint_url=glue.meta.endpoint_url, region_name="us-east-1").delete_job(JobName=job_name)

    glue.meta.events.register("before-call.glue.UpdateJob", delete_the_job)
    with pytest.raises(ServiceError) as caught:  # moto refuses UpdateJob for real
        deploy_to(_variant(wheel, tmp_path / "v", 1))
    assert caught.value.message.startswith(f"Glue could not update the job {job_name}")
    assert _keys(s3, bucket, "") == before  # the new folder went; the job's folder stayed

    glue.create_job(Name=job_name, Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": f"s3://{bucket}/{before[0]}"})
    _refuse(glue, "UpdateJob", "AccessDeniedException", "not authorized")
    with pytest.raises(ServiceError):  # the same wheel again: its folder existed before the deploy
        deploy_to(wheel)
    assert _keys(s3, bucket, "") == before


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
    assert arguments["--lake"] == s3_lake
    assert arguments["--additional-python-modules"].split(",")[0].endswith(".whl")

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
