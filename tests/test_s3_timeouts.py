"""A frozen S3 endpoint: bounded timeouts and retries, then one clear error (exit 3).

The endpoint is a local TCP server that accepts connections and never answers; timeouts and
attempts are made tiny through moviedl.toml so each test takes a second or two.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from moviedl.core.config import load_settings
from moviedl.storage.s3 import S3Lake
from tests.fake_tmdb import SilentServer


@pytest.fixture
def frozen_s3(monkeypatch: pytest.MonkeyPatch):
    """AWS_ENDPOINT_URL is a server that never answers; fake credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with SilentServer() as silent:
        monkeypatch.setenv("AWS_ENDPOINT_URL", silent.url)
        yield silent


def tiny_timeouts(attempts: int | None = 2) -> None:
    lines = ["[s3]", "connect_timeout_seconds = 0.5", "read_timeout_seconds = 0.5"]
    if attempts is not None:
        lines.append(f"max_attempts = {attempts}")
    Path("moviedl.toml").write_text("\n".join(lines) + "\n")


def one_line(output: str) -> str:
    return " ".join(output.split())  # the terminal wraps long lines


@pytest.mark.parametrize("command", ["validate", "ingest-csv"])
def test_a_frozen_endpoint_ends_in_one_clear_error_within_seconds(
    invoke, frozen_s3: SilentServer, command: str, movies_csv: Path
) -> None:
    tiny_timeouts(attempts=2)
    args = [command, "--lake", "s3://b/lake"] + ([movies_csv] if command == "ingest-csv" else [])
    started = time.monotonic()
    result = invoke(*args)
    seconds = time.monotonic() - started

    assert result.exit_code == 3, result.output
    text = one_line(result.output)
    assert (f"Error: the S3 endpoint {frozen_s3.url} gave no answer within 0.5 s after 2 attempts "
            "to reach the bucket s3://b") in text
    assert "s3.read_timeout_seconds" in text and "s3.max_attempts" in text
    assert "Traceback" not in result.output
    assert seconds < 5, seconds
    assert frozen_s3.accepted == 2  # exactly the attempts configured


def test_aws_max_attempts_sets_the_attempts(invoke, frozen_s3: SilentServer, monkeypatch) -> None:
    tiny_timeouts(attempts=None)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = invoke("validate", "--lake", "s3://b/lake")

    assert result.exit_code == 3, result.output
    assert "gave no answer within 0.5 s after 1 attempt to reach the bucket" in one_line(result.output)
    assert frozen_s3.accepted == 1


def test_the_defaults_bound_a_frozen_endpoint_to_two_minutes() -> None:
    """Each request: attempts x (connect + read timeout) plus the backoff between attempts
    (botocore's standard mode: at most 20 s each) — was 745 s of silence."""
    from botocore.retries.standard import ExponentialBackoff

    env = {k: v for k, v in os.environ.items() if k != "AWS_MAX_ATTEMPTS"}
    lake = S3Lake("s3://b/lake", load_settings(env=env))
    config = lake.client.meta.config  # the real botocore client's configuration
    attempts = config.retries["total_max_attempts"]
    assert config.retries["mode"] == "standard"
    assert (config.connect_timeout, config.read_timeout, attempts) == (5, 20, 3)
    worst = attempts * (config.connect_timeout + config.read_timeout) + (attempts - 1) * ExponentialBackoff._MAX_BACKOFF
    assert worst <= 120, worst


def test_settings_reach_the_botocore_client(monkeypatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    settings = load_settings({"s3.connect_timeout_seconds": 1.5, "s3.read_timeout_seconds": 4})
    config = S3Lake("s3://b/lake", settings).client.meta.config

    assert (config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]) == (1.5, 4, 7)
