"""One config layer: flag > environment > config file > default, secrets masked."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from moviedl.core.config import Secret, load_settings
from moviedl.core.errors import ConfigError


def write_config(path: Path, text: str, mode: int = 0o644) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_each_layer_overrides_the_one_below(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().lake == "./lake"
    assert load_settings().sources["lake"] == "default"

    write_config(clean_env / "moviedl.toml", 'lake = "from-file"\n[tmdb]\nconcurrency = 4\n')
    settings = load_settings()
    assert (settings.lake, settings.tmdb_concurrency) == ("from-file", 4)
    assert settings.sources["lake"].startswith("file ")

    monkeypatch.setenv("MOVIEDL_LAKE", "s3://from-env/prefix")
    settings = load_settings()
    assert (settings.lake, settings.sources["lake"]) == ("s3://from-env/prefix", "env MOVIEDL_LAKE")
    assert settings.tmdb_concurrency == 4  # untouched keys still come from the file

    settings = load_settings({"lake": "from-flag"})
    assert (settings.lake, settings.sources["lake"]) == ("from-flag", "flag")


def test_config_file_from_env_or_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_config(tmp_path / "a.toml", "[athena]\ndatabase = 'from_env_file'\n")
    b = write_config(tmp_path / "b.toml", "[athena]\ndatabase = 'from_flag_file'\n")
    monkeypatch.setenv("MOVIEDL_CONFIG", str(a))
    assert load_settings().athena_database == "from_env_file"
    assert load_settings(config_path=str(b)).athena_database == "from_flag_file"


def test_sdk_endpoint_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://generic:9000")
    assert load_settings().s3_endpoint_url == "http://generic:9000"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3-only:9000")
    assert load_settings().s3_endpoint_url == "http://s3-only:9000"


def test_unknown_key_names_file_and_key(clean_env: Path) -> None:
    write_config(clean_env / "moviedl.toml", "[tmdb]\nconcurency = 4\n")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "moviedl.toml: unknown key 'tmdb.concurency'" in message
    assert "tmdb.concurrency" in message  # the known keys are listed


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[tmdb]\nconcurrency = 'lots'\n", "'tmdb.concurrency' is 'lots'; expected a whole number ≥ 1"),
        ("[tmdb]\nrecords_per_file = 500\n", "expected a whole number from 1 to 100"),
        ("date = '2024-13-01'\n", "'date' is '2024-13-01'; expected a date YYYY-MM-DD"),
        ("lake = 'gs://bucket'\n", "expected a local folder or s3://bucket/prefix"),
        ("[s3]\nsse = 'rot13'\n", "expected one of AES256, aws:kms, none"),
        ("lake = [unclosed\n", "is not valid TOML"),
        ("[spark]\nmaster = 'local[two]'\n", "'spark.master' is 'local[two]'; expected a Spark master URL"),
        ("[spark]\nmaster = 'local[0]'\n", "expected local[N] with N ≥ 1 cores"),
        ("[spark]\nmaster = 'http://cluster:7077'\n", "expected a Spark master URL"),
        ("[spark]\ndriver_memory = '2'\n", "'spark.driver_memory' is '2'; expected a JVM memory size with its unit"),
        ("[spark]\ndriver_memory = 'lots'\n", "expected a JVM memory size with its unit, e.g. 2g or 1536m"),
        ("[spark]\ndriver_memory = '256m'\n", "expected at least 512m (Spark does not start with less)"),
        ("[spark]\ndriver_memory = 4\n", "expected a JVM memory size"),
    ],
)
def test_bad_values_name_key_and_expected_form(clean_env: Path, toml: str, expected: str) -> None:
    write_config(clean_env / "moviedl.toml", toml)
    with pytest.raises(ConfigError, match="moviedl.toml") as caught:
        load_settings()
    assert expected in str(caught.value)


def test_kms_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIEDL_S3_SSE", "aws:kms")
    with pytest.raises(ConfigError, match="MOVIEDL_S3_KMS_KEY_ID"):
        load_settings()


def test_secret_in_a_readable_config_file_is_refused(clean_env: Path) -> None:
    path = write_config(clean_env / "moviedl.toml", "[tmdb]\napi_key = 'abc123secret'\n", 0o644)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "chmod 600" in str(caught.value)
    assert "abc123secret" not in str(caught.value)
    path.chmod(0o600)
    assert load_settings().tmdb_api_key == Secret("abc123secret")


def test_secrets_never_print() -> None:
    secret = Secret("abc123secret")
    assert "abc123secret" not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == "abc123secret"


def test_config_show_lists_values_sources_and_masks_secrets(invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMDB_API_KEY", "abc123secret")
    monkeypatch.setenv("TMDB_READ_ACCESS_TOKEN", "eyJtoken-value")
    result = invoke("config", "show", "--lake", "s3://bucket/lake", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "abc123secret" not in result.output and "eyJtoken-value" not in result.output
    rows = {row["key"]: row for row in json.loads(result.stdout)["rows"]}
    assert rows["lake"] == {"key": "lake", "value": "s3://bucket/lake", "source": "flag"}
    assert rows["tmdb.api_key"] == {"key": "tmdb.api_key", "value": "****", "source": "env TMDB_API_KEY"}
    assert rows["tmdb.requests_per_second"]["value"] == "40.0"
    assert rows["athena.database"]["source"] == "default"

    text = invoke("config", "show")
    assert text.exit_code == 0
    assert "abc123secret" not in text.output
    assert "env TMDB_READ_ACCESS_TOKEN" in text.output


def test_config_show_bad_file_exits_2_with_one_message(invoke, clean_env: Path) -> None:
    write_config(clean_env / "moviedl.toml", "[tmdb]\nconcurrency = 0\n")
    result = invoke("config", "show")
    assert result.exit_code == 2
    assert "Error:" in result.output and "tmdb.concurrency" in result.output
    assert "Traceback" not in result.output


def test_bad_date_flag_exits_2(invoke) -> None:
    result = invoke("config", "show", "--date", "yesterday")
    assert result.exit_code == 2
    assert "'date' is 'yesterday'; expected a date YYYY-MM-DD" in result.output


def test_env_is_read_at_call_time_not_import_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIEDL_DATE", "2024-05-01")
    assert str(load_settings().date) == "2024-05-01"
    monkeypatch.setenv("MOVIEDL_DATE", "2024-06-01")
    assert str(load_settings(env=dict(os.environ)).date) == "2024-06-01"


def test_every_setting_is_documented() -> None:
    from moviedl.core.config import OPTIONS

    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text("utf-8")
    missing = [o.key for o in OPTIONS if f"`{o.key}`" not in doc]
    assert not missing, f"add these settings to docs/configuration.md: {missing}"


def test_a_date_after_tomorrow_is_refused_tomorrow_is_not() -> None:
    today = dt.datetime.now(dt.UTC).date()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    assert load_settings({"date": tomorrow}, env={}).date.isoformat() == tomorrow
    later = (today + dt.timedelta(days=2)).isoformat()
    with pytest.raises(ConfigError, match=f"--date: {later} is in the future"):
        load_settings({"date": later}, env={})
    with pytest.raises(ConfigError, match=f"env MOVIEDL_DATE: {later} is in the future"):
        load_settings({}, env={"MOVIEDL_DATE": later})


def test_check_severities_from_a_toml_table_or_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "moviedl.toml"
    config.write_text('[checks.severity]\n"tmdb coverage" = "error"\nfreshness = "off"\n')
    settings = load_settings({}, env={}, config_path=str(config))
    assert settings.checks_severity == {"tmdb coverage": "error", "freshness": "off"}
    row = next(r for r in settings.describe() if r["key"] == "checks.severity")
    assert row["value"] == "tmdb coverage=error, freshness=off" and row["source"] == f"file {config}"
    env = {"MOVIEDL_CHECKS_SEVERITY": "value ranges=warn"}
    assert load_settings({}, env=env, config_path=str(config)).checks_severity == {"value ranges": "warn"}
    with pytest.raises(ConfigError, match="expected check=level pairs"):
        load_settings({}, env={"MOVIEDL_CHECKS_SEVERITY": "loud"})


def test_quarantine_thresholds_must_be_in_order(tmp_path: Path) -> None:
    config = tmp_path / "moviedl.toml"
    config.write_text("[checks]\nquarantine_warn_share = 0.2\nquarantine_fail_share = 0.1\n")
    with pytest.raises(ConfigError, match="must not be below"):
        load_settings({}, env={}, config_path=str(config))


def test_spark_settings_from_file_or_environment(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.spark_master, settings.spark_driver_memory) == ("local[2]", "2g")
    write_config(clean_env / "moviedl.toml", "[spark]\nmaster = 'local[*]'\ndriver_memory = '6GB'\n")
    settings = load_settings()
    assert (settings.spark_master, settings.spark_driver_memory) == ("local[*]", "6g")
    monkeypatch.setenv("MOVIEDL_SPARK_MASTER", "spark://head:7077")
    monkeypatch.setenv("MOVIEDL_SPARK_DRIVER_MEMORY", "1536m")
    settings = load_settings()
    assert (settings.spark_master, settings.spark_driver_memory) == ("spark://head:7077", "1536m")
    assert settings.sources["spark.driver_memory"] == "env MOVIEDL_SPARK_DRIVER_MEMORY"
    with pytest.raises(ConfigError, match="env MOVIEDL_SPARK_DRIVER_MEMORY: 'spark.driver_memory' is '1x'"):
        load_settings(env={"MOVIEDL_SPARK_DRIVER_MEMORY": "1x"})


def test_the_docs_settings_table_is_the_declared_settings() -> None:
    """docs/configuration.md's table lists each setting as Settings declares it: key, environment
    variables and default come from the one declaration (the meaning column may say more)."""
    from moviedl.core.config import OPTIONS

    def default_of(option) -> str:
        special = {"date": "`today (UTC)`", "checks.severity": "none", "run.sources": "`[]`"}
        if option.key in special:
            return special[option.key]
        return "none" if option.default is None else f"`{option.default}`"

    expected = [
        (f"`{o.key}`", ", ".join(f"`{name}`" for name in o.env) or "—", default_of(o)) for o in OPTIONS
    ]
    text = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text("utf-8")
    rows = [line.split("|")[1:4] for line in text.splitlines() if line.startswith("| `")]
    documented = [tuple(cell.strip() for cell in row) for row in rows]
    assert documented[: len(expected)] == expected
