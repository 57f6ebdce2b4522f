"""``moviedl glue-job``: run ``refine`` on Spark as an AWS Glue 5 job.

* :func:`deploy` builds a wheel of moviedl (or takes ``--wheel``), uploads it and the job script
  (:mod:`moviedl.glue_entry`, read from that wheel so the two match) to the lake's bucket under
  ``_moviedl/glue/<digest>/``, and creates the Glue job or updates it in place: Glue 5.0, the
  wheel and :data:`JOB_MODULES` (its dependencies, pinned) installed by
  ``--additional-python-modules``, the lake as a default argument. A built wheel is
  reproducible (:func:`reproducible_wheel`): the same sources give the same digest.
* :func:`start` starts a run for a date (and stage), and with ``wait`` follows it to its end.
* :func:`status` lists the latest runs, or one.

None of them takes the lake lock. ``deploy`` writes only new, content-addressed objects under
``_moviedl/glue/`` that no reader of the lake looks at, and deletes only the folders the job
definition no longer names (neither the new one nor the one it replaced) — or, when the deploy
fails, what it uploaded into a folder that did not exist before it; ``start`` and
``status`` write nothing. The job itself runs ``moviedl refine``, which takes the lock in the
lake like any refine, so a Glue run and a local run never write the lake at the same time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviedl import __version__
from moviedl.core import progress
from moviedl.core.config import OPTIONS_BY_KEY, Settings
from moviedl.core.errors import ConfigError, ExitCode, MoviedlError, ServiceError, UsageError
from moviedl.core.summary import Summary
from moviedl.storage.aws import aws_client, aws_errors, error_code
from moviedl.storage.lake import STATE_PREFIX, Lake
from moviedl.storage.s3 import S3Lake

GLUE_PREFIX = f"{STATE_PREFIX}/glue/"
GLUE_VERSION = "5.0"
ENTRY = "moviedl/glue_entry.py"  # the job script, inside the wheel
SCRIPT_NAME = "glue_entry.py"
STAGES = ("trusted", "refined", "all")
#: Final job run states; every one but SUCCEEDED is a failed run (exit 1).
FINAL_STATES = ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED")
#: How much longer than the job's own timeout ``start --wait`` waits (queueing, start-up).
WAIT_MARGIN_MINUTES = 15
#: Settings the job run needs from the deployer's configuration (never secrets: refine needs none).
FORWARDED = (
    "aws.region", "s3.sse", "s3.kms_key_id", "s3.multipart_threshold_mb", "s3.part_size_mb",
    "s3.connect_timeout_seconds", "s3.read_timeout_seconds", "s3.max_attempts",
    "refine.keep_versions", "checks.severity", "checks.quarantine_warn_share",
    "checks.quarantine_fail_share",
)

#: What the job's pip installs besides the wheel: every dependency of moviedl pinned, so that
#: nothing resolves to "the newest" on Glue and nothing Glue 5.0 preinstalls is upgraded under its
#: own runtime. ``glue``: Glue 5.0 provides it, pinned to Glue's own version (the list "Python
#: modules already provided in AWS Glue", https://docs.aws.amazon.com/glue/latest/dg/
#: aws-glue-programming-python-libraries.html#glue-modules-provided); ``lock``: Glue lacks it,
#: pinned to what CI tests (requirements/test.lock) — moviedl's own dependencies and theirs, on
#: Linux and Python 3.11. tests/test_glue_job.py checks them against pyproject.toml, the lock,
#: and the requirements of each package; docs/scale.md lists them.
JOB_MODULES: tuple[tuple[str, str, str], ...] = (
    ("boto3", "1.34.131", "glue"), ("pyarrow", "17.0.0", "glue"), ("requests", "2.32.2", "glue"),
    ("tenacity", "9.0.0", "glue"),
    ("duckdb", "2.0.1", "lock"), ("rich", "15.0.0", "lock"), ("sqlglot", "30.31.0", "lock"),
    ("typer", "0.29.2", "lock"),
    # what those require in turn (typer, rich, pydantic), as test.lock has them
    ("annotated-doc", "0.0.7", "lock"), ("annotated-types", "0.8.0", "lock"),
    ("markdown-it-py", "4.3.0", "lock"), ("mdurl", "0.1.2", "lock"), ("pydantic", "2.14.4", "lock"),
    ("pydantic_core", "2.50.5", "lock"), ("Pygments", "2.21.0", "lock"),
    ("shellingham", "1.5.4", "lock"), ("typing-inspection", "0.4.5", "lock"),
    ("typing_extensions", "4.16.0", "lock"),
)
#: The timestamp of every entry of a wheel deploy builds (zip's epoch, 1980-01-01).
WHEEL_EPOCH = (1980, 1, 1, 0, 0, 0)

DEPLOY_COLUMNS = ["job", "action", "glue_version", "workers", "script", "wheel"]
RUN_COLUMNS = ["run_id", "state", "date", "stage", "started", "ended", "seconds", "error"]


@dataclass(frozen=True)
class DeployOptions:
    wheel: Path | None = None  # a moviedl wheel to upload; default: build one from the sources


# --- deploy ---------------------------------------------------------------------------------------


def deploy(settings: Settings, lake: Lake, options: DeployOptions, *, glue: Any = None) -> Summary:
    """Upload the wheel and the job script, then create or update the Glue job."""
    s3 = require_s3(lake, "deploy")
    role = settings.glue_role_arn
    if not role:
        raise ConfigError(
            "glue.role_arn is not set: the Glue job needs an IAM role to run as",
            hint="Set it in moviedl.toml ([glue] role_arn = \"arn:aws:iam::<account id>:role/<name>\"), "
            "in MOVIEDL_GLUE_ROLE_ARN or with --role-arn; 'moviedl athena-ddl --policy' prints the "
            "role's policy (moviedl-glue-job) and docs/scale.md how to create the role.",
        )
    summary = Summary("glue-job deploy", lake.uri, None, list(DEPLOY_COLUMNS))
    s3.check()
    glue = glue or aws_client(settings, "glue")
    name = settings.glue_job_name
    with tempfile.TemporaryDirectory(prefix="moviedl-glue-") as tmp:
        wheel = options.wheel or build_wheel(Path(tmp))
        script = extract_script(wheel, Path(tmp))
        digest = _digest(wheel, script)
        folder = f"{GLUE_PREFIX}{digest}/"
        script_uri, wheel_uri = s3.uri_of(folder + SCRIPT_NAME), s3.uri_of(folder + wheel.name)
        definition = job_definition(settings, script_uri, wheel_uri)
        progress.activity(f"reading the Glue job {name}")
        existing = _get_job(glue, name)
        # A folder that existed before (this very wheel deployed earlier) is never removed here.
        new_folder = digest != _digest_of(existing) and digest not in s3.folders(GLUE_PREFIX)
        uploaded: list[str] = []
        try:
            progress.activity(f"uploading {wheel.name}")
            for path, key in ((wheel, folder + wheel.name), (script, folder + SCRIPT_NAME)):
                uploaded.append(key)  # a failed put may still have stored it
                s3.upload_file(path, key)
            progress.activity(f"{'creating' if existing is None else 'updating'} the Glue job {name}")
            if existing is None:
                with aws_errors("Glue", f"create the job {name}"):
                    glue.create_job(Name=name, **definition)
                action = "created"
            else:
                with aws_errors("Glue", f"update the job {name}"):
                    glue.update_job(JobName=name, JobUpdate=definition)
                action = "updated"
        except BaseException as exc:
            if new_folder:
                _remove_uploaded(s3, folder, uploaded, exc)
            raise
    removed = _remove_old_artefacts(s3, keep={digest, _digest_of(existing)})
    summary.rows = [{
        "job": name, "action": action, "glue_version": GLUE_VERSION,
        "workers": f"{settings.glue_workers} × {settings.glue_worker_type}",
        "script": script_uri, "wheel": wheel_uri,
    }]
    summary.counts = {"jobs": 1, "uploaded": 2, "old_artefacts_removed": removed}
    summary.notes.append(f"role: {role}; timeout {settings.glue_timeout_minutes} min")
    summary.notes.append(f"start a run: moviedl glue-job start --lake {lake.uri} --date YYYY-MM-DD --wait")
    return summary


def job_definition(settings: Settings, script_uri: str, wheel_uri: str) -> dict[str, Any]:
    """The job as CreateJob takes it (without ``Name``); UpdateJob's ``JobUpdate`` is the same,
    and replaces the whole definition, so nothing of an earlier deploy lingers."""
    arguments = {
        "--lake": settings.lake,
        "--additional-python-modules": ",".join([wheel_uri, *pinned_modules()]),
        "--enable-continuous-cloudwatch-log": "true",
        "--job-bookmark-option": "job-bookmark-disable",  # refine finds its own work
        "--job-language": "python",
    }
    forwarded = forwarded_settings(settings)
    if forwarded:
        arguments["--moviedl-settings"] = json.dumps(forwarded, sort_keys=True, separators=(",", ":"))
    return {
        "Description": f"moviedl {__version__}: refine on Spark (moviedl glue-job deploy)",
        "Role": settings.glue_role_arn,
        "Command": {"Name": "glueetl", "ScriptLocation": script_uri, "PythonVersion": "3"},
        "DefaultArguments": arguments,
        "ExecutionProperty": {"MaxConcurrentRuns": 1},  # refine takes the lake lock anyway
        "GlueVersion": GLUE_VERSION,
        "WorkerType": settings.glue_worker_type,
        "NumberOfWorkers": settings.glue_workers,
        "Timeout": settings.glue_timeout_minutes,
        "MaxRetries": 0,  # a failed audit fails again; a retry would only cost
    }


def pinned_modules() -> list[str]:
    """:data:`JOB_MODULES` as pip requirements (``name==version``)."""
    return [f"{name}=={version}" for name, version, _source in JOB_MODULES]


def forwarded_settings(settings: Settings) -> dict[str, Any]:
    """The deployer's non-default settings the run needs (encryption, S3 tuning, checks)."""
    found: dict[str, Any] = {}
    for key in FORWARDED:
        if settings.sources.get(key, "default") == "default":
            continue
        value = getattr(settings, OPTIONS_BY_KEY[key].attr)
        found[key] = dict(value) if isinstance(value, Mapping) else value
    return found


def require_s3(lake: Lake, action: str) -> S3Lake:
    if not isinstance(lake, S3Lake):
        raise UsageError(
            f"cannot {action} a Glue job for the local lake {lake.location}: a Glue job needs an "
            "s3:// lake",
            hint="Use --lake s3://bucket/prefix (or MOVIEDL_LAKE); to run Spark on this machine, "
            "use 'moviedl refine --engine spark'.",
        )
    return lake


# --- the wheel --------------------------------------------------------------------------------------


def source_root() -> Path | None:
    """The moviedl checkout this code runs from (a pyproject.toml naming moviedl beside the
    package), or None when moviedl is installed without its sources."""
    import moviedl

    root = Path(moviedl.__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text("utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return root if project.get("name") == "moviedl" else None


def build_wheel(workdir: Path) -> Path:
    """A wheel of the moviedl this code runs from, built with pip from a copy of its sources
    (nothing is written into the checkout), made reproducible (:func:`reproducible_wheel`);
    refused when there are no sources."""
    root = source_root()
    if root is None:
        raise UsageError(
            "moviedl is installed without its sources, so glue-job deploy cannot build a wheel of it",
            hint="Pass --wheel PATH: the moviedl wheel this version was installed from, or one built "
            "with 'python -m pip wheel --no-deps -w dist <moviedl checkout>'.",
        )
    source, out = workdir / "source", workdir / "wheel"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (root / name).is_file():
            shutil.copy2(root / name, source / name)
    shutil.copytree(root / "moviedl", source / "moviedl",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
               "--disable-pip-version-check", "--quiet", "-w", str(out), str(source)]
    with progress.stage("glue-job deploy"):  # a library call leaves no activity behind
        progress.activity("building the moviedl wheel")
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    wheels = sorted(out.glob("moviedl-*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        tail = " | ".join(line.strip() for line in (done.stderr or done.stdout).splitlines()[-4:] if line.strip())
        raise UsageError(
            f"could not build the moviedl wheel from {root} (pip exited {done.returncode}): {tail}",
            hint="The build needs setuptools and wheel in this Python (python -m pip install wheel); "
            "or pass --wheel PATH.",
        )
    reproducible_wheel(wheels[0])
    return wheels[0]


def reproducible_wheel(wheel: Path) -> None:
    """Rewrite ``wheel`` so that the same sources give the same bytes (and so the same artefact
    folder): entries in name order, the ``.dist-info`` folder last and its RECORD at the very
    end (as the wheel format recommends), each dated :data:`WHEEL_EPOCH`, with mode 644 (755 when
    executable) whatever the umask. The contents are unchanged, so RECORD's hashes still hold."""
    with zipfile.ZipFile(wheel) as source:
        entries = [(info, source.read(info)) for info in source.infolist() if not info.is_dir()]

    def place(entry: tuple[zipfile.ZipInfo, bytes]) -> tuple[bool, bool, str]:
        name = entry[0].filename
        return ".dist-info/" in name, name.endswith(".dist-info/RECORD"), name

    staged = wheel.with_name(wheel.name + ".tmp")
    with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in sorted(entries, key=place):
            entry = zipfile.ZipInfo(info.filename, WHEEL_EPOCH)
            entry.create_system = 3  # Unix: the modes below apply
            entry.external_attr = (0o100755 if (info.external_attr >> 16) & 0o111 else 0o100644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, data)
    staged.replace(wheel)


def extract_script(wheel: Path, workdir: Path) -> Path:
    """The job script from the wheel; refuses a file that is not a moviedl wheel with one."""
    if not wheel.is_file():
        raise UsageError(f"--wheel {wheel}: no such file")
    if not (wheel.name.startswith("moviedl-") and wheel.suffix == ".whl"):
        raise UsageError(f"--wheel {wheel}: not a moviedl wheel (moviedl-<version>-...whl)")
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            if "moviedl/__init__.py" not in names:
                raise UsageError(f"--wheel {wheel}: holds no moviedl package")
            if ENTRY not in names:
                raise UsageError(
                    f"--wheel {wheel}: holds no {ENTRY}; it is older than glue-job support",
                    hint="Build a wheel of this version of moviedl, or leave --wheel out.",
                )
            script = workdir / SCRIPT_NAME
            script.write_bytes(archive.read(ENTRY))
    except zipfile.BadZipFile:
        raise UsageError(f"--wheel {wheel}: not a zip archive (a wheel is one)") from None
    return script


def _digest(*files: Path) -> str:
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def _digest_of(job: dict[str, Any] | None) -> str | None:
    """The artefact folder a job definition names (``.../_moviedl/glue/<digest>/glue_entry.py``)."""
    location = str(((job or {}).get("Command") or {}).get("ScriptLocation") or "")
    marker = f"/{GLUE_PREFIX}"
    if marker not in location:
        return None
    return location.split(marker, 1)[1].split("/", 1)[0] or None


def _remove_uploaded(lake: S3Lake, folder: str, keys: list[str], failure: BaseException) -> None:
    """After a failed deploy, delete what it uploaded into its new artefact ``folder``. ``failure``
    goes on as it was; should the clean-up fail too, its hint says what is left behind."""
    try:
        for key in keys:
            lake.delete(key)
    except Exception as exc:
        if isinstance(failure, MoviedlError):
            reason = exc.message if isinstance(exc, MoviedlError) else str(exc)
            left = (f"What this deploy uploaded to {lake.uri_of(folder)} could not be removed "
                    f"({reason}); the next deploy removes it.")
            failure.hint = f"{failure.hint} {left}" if failure.hint else left


def _remove_old_artefacts(lake: S3Lake, keep: set[str | None]) -> int:
    """Delete artefact folders neither the job nor its previous definition names: a run that
    started just before this deploy still finds its wheel."""
    removed = 0
    for folder in lake.folders(GLUE_PREFIX):
        if folder not in keep:
            removed += lake.delete_prefix(f"{GLUE_PREFIX}{folder}/")
    return removed


@contextlib.contextmanager
def _job_call(action: str, name: str) -> Iterator[None]:
    """A Glue call on the job ``name`` (:func:`aws_errors`); a job that does not exist is a usage
    error that says to deploy it."""
    with aws_errors("Glue", action):
        try:
            yield
        except Exception as exc:
            if error_code(exc) == "EntityNotFoundException":
                raise UsageError(
                    f"there is no Glue job {name}",
                    hint="Run 'moviedl glue-job deploy' first (or fix glue.job_name).",
                ) from None
            raise


def _get_job(glue: Any, name: str) -> dict[str, Any] | None:
    with aws_errors("Glue", f"look up the job {name}"):
        try:
            return dict(glue.get_job(JobName=name)["Job"])
        except Exception as exc:
            if error_code(exc) == "EntityNotFoundException":
                return None
            raise


# --- start ----------------------------------------------------------------------------------------


def start(
    settings: Settings,
    lake: Lake,
    stage: str = "all",
    *,
    wait: bool = False,
    glue: Any = None,
    wait_seconds: float | None = None,
) -> Summary:
    """Start a run of the job on ``settings.date`` (when given; else refine's own choice) and
    ``stage``; with ``wait``, follow it until it ends: SUCCEEDED is exit 0, any other end exit 1.
    ``wait_seconds`` bounds the wait (default: the job's timeout plus 15 minutes); a run still
    going then is exit 3 — it goes on, ``status`` follows it."""
    if stage not in STAGES:
        raise UsageError(f"--stage {stage!r}: expected one of {', '.join(STAGES)}")
    require_s3(lake, "start")
    name = settings.glue_job_name
    glue = glue or aws_client(settings, "glue")
    arguments = {"--lake": settings.lake, "--stage": stage}
    if settings.date_given:
        arguments["--date"] = settings.date.isoformat()
    with _job_call(f"start a run of the job {name}", name):
        run_id = str(glue.start_job_run(JobName=name, Arguments=arguments)["JobRunId"])
    summary = Summary("glue-job start", lake.uri, arguments.get("--date"), list(RUN_COLUMNS))
    summary.counts = {"runs_started": 1}
    run: dict[str, Any] = {"Id": run_id, "JobRunState": "STARTING", "Arguments": arguments}
    if wait:
        limit = wait_seconds if wait_seconds is not None else (
            settings.glue_timeout_minutes + WAIT_MARGIN_MINUTES) * 60
        run = _follow(glue, name, run_id, limit)
        _judge(summary, name, run)
    else:
        summary.notes.append(f"follow it: moviedl glue-job status --run-id {run_id}")
    summary.rows = [run_row(run)]
    return summary


def _follow(glue: Any, name: str, run_id: str, limit: float) -> dict[str, Any]:
    """Poll the run until it ends (every 2 s at first, then less often, at most every 30 s)."""
    deadline = time.monotonic() + limit
    delay = 2.0
    while True:
        run = get_run(glue, name, run_id)
        state = str(run.get("JobRunState", "UNKNOWN"))
        progress.activity(f"run {run_id[:12]}… {state}")
        if state in FINAL_STATES:
            return run
        if time.monotonic() + delay > deadline:
            raise ServiceError(
                f"Glue job run {run_id} of {name} is still {state} after {limit / 60:.0f} min of waiting",
                hint=f"It goes on: 'moviedl glue-job status --run-id {run_id}' shows how it ends "
                "(raise glue.timeout_minutes if runs need longer).",
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 30.0)


def _judge(summary: Summary, name: str, run: dict[str, Any]) -> None:
    """SUCCEEDED: exit 0; any other end of the run: exit 1 with Glue's reason and where the logs are."""
    state = str(run.get("JobRunState"))
    if state == "SUCCEEDED":
        summary.notes.append(f"the run's summary (JSON) is in CloudWatch: {_logs(run)}")
        return
    reason = str(run.get("ErrorMessage") or "no reason given")
    summary.problems.append(f"Glue job run {run.get('Id')} of {name} ended {state}: {reason}")
    summary.notes.append(f"logs: {_logs(run)} (refine's summary is the last line of the output log)")
    summary.fail(ExitCode.CHECK_FAILED)


def _logs(run: dict[str, Any]) -> str:
    group = run.get("LogGroupName") or "/aws-glue/jobs"
    return f"log group {group}, streams named after run {run.get('Id')}"


def get_run(glue: Any, name: str, run_id: str) -> dict[str, Any]:
    with aws_errors("Glue", f"look up run {run_id} of the job {name}"):
        try:
            return dict(glue.get_job_run(JobName=name, RunId=run_id, PredecessorsIncluded=False)["JobRun"])
        except Exception as exc:
            if error_code(exc) == "EntityNotFoundException":
                raise UsageError(f"the Glue job {name} has no run {run_id}") from None
            raise


# --- status ---------------------------------------------------------------------------------------


def status(settings: Settings, run_id: str | None = None, last: int = 10, *, glue: Any = None) -> Summary:
    """The newest ``last`` runs of the job, newest first, or the run ``run_id``."""
    name = settings.glue_job_name
    glue = glue or aws_client(settings, "glue")
    summary = Summary("glue-job status", settings.lake, None, list(RUN_COLUMNS))
    if run_id:
        runs = [get_run(glue, name, run_id)]
    else:
        runs = sorted(_runs(glue, name, last), key=_started, reverse=True)[:last]
    summary.rows = [run_row(run) for run in runs]
    counts: dict[str, int] = {"runs": len(runs)}
    for run in runs:
        state = str(run.get("JobRunState", "UNKNOWN")).lower()
        counts[state] = counts.get(state, 0) + 1
    summary.counts = counts
    if not runs:
        summary.notes.append(f"the Glue job {name} has no runs yet: moviedl glue-job start")
    return summary


def _runs(glue: Any, name: str, last: int) -> Iterator[dict[str, Any]]:
    token: str | None = None
    seen = 0
    while True:
        request: dict[str, Any] = {"JobName": name, "MaxResults": min(max(last, 1), 200)}
        if token:
            request["NextToken"] = token
        with _job_call(f"list the runs of the job {name}", name):
            page = glue.get_job_runs(**request)
        for run in page.get("JobRuns", []):
            seen += 1
            yield dict(run)
        token = page.get("NextToken")
        if not token or seen >= last:  # Glue lists the newest first
            return


def _started(run: dict[str, Any]) -> dt.datetime:
    started = run.get("StartedOn")
    return started if isinstance(started, dt.datetime) else dt.datetime.min.replace(tzinfo=dt.UTC)


def run_row(run: dict[str, Any]) -> dict[str, Any]:
    arguments = run.get("Arguments") or {}
    started, ended = run.get("StartedOn"), run.get("CompletedOn")
    seconds = run.get("ExecutionTime")
    if not seconds and isinstance(started, dt.datetime) and isinstance(ended, dt.datetime):
        seconds = int((ended - started).total_seconds())
    final = run.get("JobRunState") in FINAL_STATES
    return {
        "run_id": run.get("Id"),
        "state": run.get("JobRunState"),
        "date": arguments.get("--date") or "",
        "stage": arguments.get("--stage") or "all",
        "started": _when(started),
        "ended": _when(ended) if final else None,
        "seconds": seconds if final else None,
        "error": run.get("ErrorMessage") or "",
    }


def _when(value: Any) -> str | None:
    if not isinstance(value, dt.datetime):
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
