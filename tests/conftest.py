"""Shared fixtures: a clean environment, the bundled samples, and moto running as an S3 server."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from moviedl.cli import app

SAMPLES = resources.files("moviedl") / "samples"
#: the time every line on stderr starts with off a terminal (cron logs)
TIMESTAMP = re.compile(r"^\d\d:\d\d:\d\d ", re.M)


def untimed(text: str) -> str:
    """What moviedl wrote on stderr off a terminal, without the time each line starts with."""
    return TIMESTAMP.sub("", text)


@pytest.hookimpl(trylast=True)  # after -m/-k/--deselect: the final selection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """When tests/test_spark35.py is selected, the Spark files' run on Spark 3.5 starts now in
    the background (tests/spark35.py) and that test moves to the end, where it waits for it."""
    from tests import spark35

    spark35.start_if_selected(config, items)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test runs in its own empty folder with no moviedl/TMDB/AWS settings leaking in.

    AWS credentials are fake and the instance-metadata lookup is off, so nothing can reach AWS;
    TMDB's base URL is a closed local port unless a test starts the fake TMDB server.
    """
    for name in list(os.environ):
        if name.startswith(("MOVIEDL_", "TMDB_", "AWS_")):
            monkeypatch.delenv(name)
    # No test may reach the real TMDB: unless a test points elsewhere (the fake server), TMDB is
    # a closed local port.
    monkeypatch.setenv("MOVIEDL_TMDB_BASE_URL", "http://127.0.0.1:9/3")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("COLUMNS", "200")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def movies_csv() -> Path:
    return Path(str(SAMPLES / "movies.csv"))


@pytest.fixture
def series_csv() -> Path:
    return Path(str(SAMPLES / "series.csv"))


SAMPLE_DATE = "2024-05-01"


@contextlib.contextmanager
def no_settings() -> Iterator[pytest.MonkeyPatch]:
    """For fixtures wider than one test (``clean_env`` is per test): no moviedl, TMDB or AWS
    setting from the environment applies inside the block."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("MOVIEDL_", "TMDB_", "AWS_")):
                mp.delenv(name)
        yield mp


def run_commands(lake: Path, *commands: list[str]) -> None:
    """Run moviedl ``commands`` on ``lake`` in turn (quiet); each must exit 0."""
    runner = CliRunner()
    for args in commands:
        result = runner.invoke(app, [*args, "--lake", str(lake), "--quiet"], catch_exceptions=False)
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def refined_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled samples ingested and refined for ``SAMPLE_DATE``, once per test session.
    Read it in place only; a test that changes the lake takes :func:`sample_lake` instead."""
    lake = tmp_path_factory.mktemp("sample") / "lake"
    with no_settings():
        run_commands(
            lake,
            ["ingest-csv", str(SAMPLES / "movies.csv"), str(SAMPLES / "series.csv"), "--date", SAMPLE_DATE],
            ["refine", "--date", SAMPLE_DATE],
        )
    return lake


@pytest.fixture
def sample_lake(refined_sample: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`refined_sample` (a local lake), free to change."""
    import shutil

    copy = tmp_path / "lake"
    shutil.copytree(refined_sample, copy)
    return copy


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner):
    """Run the CLI in-process: ``invoke("ingest-csv", path, "--format", "json")``."""

    def run(*args: object, input: str | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


# --- TMDB: a local HTTP server that behaves like the API --------------------------------------


@pytest.fixture
def fake_tmdb():
    """A local fake TMDB API (tests/fake_tmdb.py): ``.url``, ``.requests``, ``.fail(...)``."""
    from tests.fake_tmdb import FakeTmdb

    with FakeTmdb() as fake:
        yield fake


# --- S3 through moto running as a real HTTP server -------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> str:
    """Point the AWS SDK (and moviedl) at the moto server with fake credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return moto_endpoint


@pytest.fixture
def s3(aws_env: str):
    return boto3.client("s3", endpoint_url=aws_env)


@pytest.fixture
def bucket(s3) -> str:
    name = f"lake-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def lake_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against a local lake and an S3 lake (moto server)."""
    if request.param == "local":
        return str(tmp_path / "lake")
    bucket = request.getfixturevalue("bucket")
    return f"s3://{bucket}/data/lake"


def read_lake_object(lake_uri: str, key: str, s3_client=None) -> bytes | None:
    """Bytes stored at ``key`` under ``lake_uri``, or None — read without moviedl's code."""
    if lake_uri.startswith("s3://"):
        bucket, _, prefix = lake_uri[5:].partition("/")
        try:
            return s3_client.get_object(Bucket=bucket, Key=f"{prefix}/{key}")["Body"].read()
        except s3_client.exceptions.NoSuchKey:
            return None
    path = Path(lake_uri) / key
    return path.read_bytes() if path.exists() else None


def list_lake(lake_uri: str, s3_client=None, prefix: str = "") -> list[str]:
    """Every key under the lake (optionally under ``prefix``), read without moviedl's code."""
    if lake_uri.startswith("s3://"):
        bucket, _, root = lake_uri[5:].partition("/")
        keys = []
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{root}/{prefix}"):
            keys += [item["Key"][len(root) + 1 :] for item in page.get("Contents", [])]
        return sorted(keys)
    base = Path(lake_uri)
    if not base.exists():
        return []
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file() and p.relative_to(base).as_posix().startswith(prefix))


# A refine whose publisher stops the process (SIGKILL) at one step, as a crash or an OOM kill
# would; unchanged tables are rebuilt too, so the step is reached whatever the lake holds.
_KILLED_AT = """
import os, signal, sys
from moviedl.stages.refine.publish import Publisher
from moviedl.stages.refine.refine import RefineOptions
point = sys.argv.pop(1)
def at_step(self, at):
    if at == point:
        os.kill(os.getpid(), signal.SIGKILL)
Publisher._at_step = at_step
RefineOptions.may_skip = property(lambda self: False)
sys.argv[0] = "moviedl"
from moviedl.cli import main
main()
"""


def refine_killed_at(crash_at: str, *args: str) -> None:
    """Run ``moviedl refine ARGS`` in a subprocess that kills itself (SIGKILL) at the publish
    step ``crash_at``; fails unless it died there."""
    import subprocess
    import sys

    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_AT, crash_at, "refine", *args, "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr


class BrokenWriter:
    """``broken("fato_filme", ...)``: from then on, refine's DuckDB engine writes these tables as
    empty files of the same schema — what a faulty writer leaves behind — while saying it wrote
    every row, and unchanged tables are rebuilt too, so the broken write happens;
    ``broken.repair()`` restores the writer."""

    def __init__(self) -> None:
        self._patch = pytest.MonkeyPatch()

    def __call__(self, *names: str) -> None:
        from moviedl.core.contract import REFINED_TABLES, TRUSTED_TABLES
        from moviedl.engines.duck import DuckDBEngine
        from moviedl.stages.refine.refine import RefineOptions

        folders = [f"/{t.folder}/" for t in (*TRUSTED_TABLES, *REFINED_TABLES) if t.name in names]
        assert len(folders) == len(names), names
        write = DuckDBEngine.write_parquet

        def write_empty(engine, select, path, params=None, *, metadata=None):  # noqa: ANN001, ANN202
            written = write(engine, select, path, params, metadata=metadata)
            if any(folder in Path(path).as_posix() for folder in folders):
                write(engine, f"SELECT * FROM ({select}) LIMIT 0", path, params, metadata=metadata)
            return written

        self._patch.setattr(DuckDBEngine, "write_parquet", write_empty)
        self._patch.setattr(RefineOptions, "may_skip", property(lambda self: False))

    def repair(self) -> None:
        self._patch.undo()


@pytest.fixture
def broken_writer() -> Iterator[BrokenWriter]:
    broken = BrokenWriter()
    yield broken
    broken.repair()


class DiskFull:
    """``disk_full("Refined/FatoFilme/", ...)``: from then on, every file refine stages (the
    engine's writes under the run's staging folder) and every lake object written through the
    lake (the fingerprints, a run's state) whose path contains one of these parts is a symbolic
    link to ``/dev/full``, so writing it fails with ENOSPC — what a full disk does. Linux only
    (the fixture skips the test elsewhere); ``disk_full.repair()`` restores the writes."""

    def __init__(self) -> None:
        self._patch = pytest.MonkeyPatch()

    def __call__(self, *parts: str) -> None:
        from moviedl.stages.refine.publish import Workspace
        from moviedl.storage.local import LocalUpload

        def full(path: Path) -> None:
            path.unlink(missing_ok=True)
            path.symlink_to("/dev/full")

        staged_path = Workspace.staged_path

        def staged_on_full_disk(ws, key):  # noqa: ANN001, ANN202
            path = staged_path(ws, key)
            if any(part in key for part in parts):
                full(path)
            return path

        upload_init = LocalUpload.__init__

        def upload_on_full_disk(upload, lake, key):  # noqa: ANN001, ANN202
            upload_init(upload, lake, key)
            if any(part in key for part in parts):
                upload._file.close()
                full(upload._tmp)
                upload._file = open(upload._tmp, "wb")  # noqa: SIM115

        self._patch.setattr(Workspace, "staged_path", staged_on_full_disk)
        self._patch.setattr(LocalUpload, "__init__", upload_on_full_disk)

    def repair(self) -> None:
        self._patch.undo()


@pytest.fixture
def disk_full() -> Iterator[DiskFull]:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    broken = DiskFull()
    yield broken
    broken.repair()
