"""One config layer: flag > environment > config file > default, secrets masked."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
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
    assert rows["tmdb.requests_per_second"]["value"] == 40.0
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
    assert row["value"] == {"tmdb coverage": "error", "freshness": "off"} and row["source"] == f"file {config}"
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
        if isinstance(option.default, bool):  # as TOML writes it
            return f"`{str(option.default).lower()}`"
        return "none" if option.default is None else f"`{option.default}`"

    expected = [
        (f"`{o.key}`", ", ".join(f"`{name}`" for name in o.env) or "—", default_of(o)) for o in OPTIONS
    ]
    text = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text("utf-8")
    rows = [line.split("|")[1:4] for line in text.splitlines() if line.startswith("| `")]
    documented = [tuple(cell.strip() for cell in row) for row in rows]
    assert documented[: len(expected)] == expected


# --- values that would switch a protection off ----------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key", "expected"),
    [
        ("[tmdb]\noutage_seconds = 'inf'\n", "tmdb.outage_seconds", "expected a finite number > 0; inf and nan are not allowed"),
        ("[tmdb]\noutage_seconds = inf\n", "tmdb.outage_seconds", "expected a finite number > 0; inf and nan are not allowed"),
        ("[s3]\nread_timeout_seconds = inf\n", "s3.read_timeout_seconds", "expected a finite number > 0"),
        ("[s3]\nconnect_timeout_seconds = 'Infinity'\n", "s3.connect_timeout_seconds", "inf and nan are not allowed"),
        ("[tmdb]\ntimeout_seconds = nan\n", "tmdb.timeout_seconds", "inf and nan are not allowed"),
        ("[tmdb]\nrequests_per_second = '1e999'\n", "tmdb.requests_per_second", "inf and nan are not allowed"),
        ("[tmdb]\nrequests_per_second = -inf\n", "tmdb.requests_per_second", "inf and nan are not allowed"),
        # whole numbers: TOML's inf used to escape as an internal error (exit 4)
        ("[s3]\nmax_attempts = inf\n", "s3.max_attempts", "expected a whole number ≥ 1; inf and nan are not allowed"),
        ("[tmdb]\nmax_attempts = 'nan'\n", "tmdb.max_attempts", "expected a whole number ≥ 1; inf and nan are not allowed"),
        ("[glue]\nworkers = -inf\n", "glue.workers", "inf and nan are not allowed"),
        ("[checks]\nquarantine_fail_share = nan\n", "checks.quarantine_fail_share", "expected a share from 0 to 1"),
        ("[validate]\nmin_tmdb_coverage = 'inf'\n", "validate.min_tmdb_coverage", "inf and nan are not allowed"),
    ],
)
def test_non_finite_numbers_are_refused_naming_the_key(clean_env: Path, toml: str, key: str, expected: str) -> None:
    write_config(clean_env / "moviedl.toml", toml)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"file moviedl.toml: '{key}' is " in message and expected in message


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "1e999"])
def test_non_finite_numbers_from_the_environment_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=f"env AWS_MAX_ATTEMPTS: 's3.max_attempts' is '{value}'; expected a whole number ≥ 1"):
        load_settings(env={"AWS_MAX_ATTEMPTS": value})


def test_non_finite_numbers_from_a_flag_are_refused() -> None:
    with pytest.raises(ConfigError, match="flag: 'tmdb.requests_per_second' is inf; expected a finite number > 0"):
        load_settings({"tmdb.requests_per_second": float("inf")}, env={})


def test_an_infinite_whole_number_exits_2_not_4(invoke, clean_env: Path) -> None:
    write_config(clean_env / "moviedl.toml", "[s3]\nmax_attempts = inf\n")
    result = invoke("config", "show")
    assert result.exit_code == 2, result.output
    assert "'s3.max_attempts' is inf" in result.output and "Internal error" not in result.output


def test_finite_numbers_still_pass() -> None:
    settings = load_settings(
        {"tmdb.outage_seconds": "45", "s3.read_timeout_seconds": 2.5, "s3.max_attempts": "+4"}, env={}
    )
    assert (settings.tmdb_outage_seconds, settings.s3_read_timeout_seconds, settings.s3_max_attempts) == (45.0, 2.5, 4)


def test_an_unknown_check_in_severity_is_refused_listing_the_checks(clean_env: Path) -> None:
    from moviedl.core.config import CHECK_NAMES

    write_config(clean_env / "moviedl.toml", '[checks.severity]\n"no such check" = "error"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "file moviedl.toml: 'checks.severity' is {'no such check': 'error'}" in message
    assert "expected known check names (not 'no such check')" in message
    assert f"the checks are: {', '.join(CHECK_NAMES)}" in message
    assert "tmdb coverage" in CHECK_NAMES and "value ranges" in CHECK_NAMES


def test_a_misspelt_check_in_severity_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"MOVIEDL_CHECKS_SEVERITY": "Value Ranges=warn,freshnes=error"})
    message = str(caught.value)
    assert message.startswith("env MOVIEDL_CHECKS_SEVERITY: 'checks.severity' is ")
    assert "'Value Ranges' (did you mean 'value ranges'?)" in message
    assert "'freshnes' (did you mean 'freshness'?)" in message


def test_an_unknown_check_in_severity_exits_2(invoke, clean_env: Path) -> None:
    write_config(clean_env / "moviedl.toml", '[checks.severity]\n"no such check" = "error"\n')
    result = invoke("config", "show")
    assert result.exit_code == 2 and "no such check" in result.output


def test_quarantine_defaults_warn_above_1_percent_and_fail_above_10() -> None:
    settings = load_settings(env={})
    assert (settings.checks_quarantine_warn_share, settings.checks_quarantine_fail_share) == (0.01, 0.1)


# --- the starter config file ------------------------------------------------------------------


def effective(settings) -> dict[str, object]:
    return {row["key"]: row["value"] for row in settings.describe()}


def test_the_starter_config_changes_nothing_and_names_every_setting(clean_env: Path) -> None:
    from moviedl.core.config import OPTIONS
    from moviedl.core.starter import starter_config, write_starter_config

    path = write_starter_config(clean_env / "moviedl.toml")
    assert path == clean_env / "moviedl.toml" and path.read_text("utf-8") == starter_config()
    assert path.stat().st_mode & 0o777 == 0o600  # a secret may be added to it
    with_file = load_settings(env={})
    assert with_file.config_file == "moviedl.toml"
    path.unlink()
    assert effective(with_file) == effective(load_settings(env={}))
    text = starter_config()
    for option in OPTIONS:
        name = option.key.rpartition(".")[2]
        assert f"\n# {name} = " in text, option.key
        assert f"# {option.help}\n" in text, option.key


ASSIGNMENT = re.compile(r"# ([a-z_]+) = (.*)")


def uncommented(text: str, *names: str) -> str:
    """``text`` with the commented assignments of ``names`` made live."""
    lines = []
    for line in text.splitlines():
        found = ASSIGNMENT.fullmatch(line)
        lines.append(line[2:] if found and found.group(1) in names else line)
    return "\n".join(lines) + "\n"


def test_uncommenting_a_starter_line_sets_that_setting(clean_env: Path) -> None:
    from moviedl.core.starter import starter_config

    text = uncommented(starter_config(), "concurrency", "quarantine_warn_share")
    text = text.replace("concurrency = 8", "concurrency = 3")
    write_config(clean_env / "moviedl.toml", text)
    settings = load_settings(env={})
    assert settings.tmdb_concurrency == 3 and settings.sources["tmdb.concurrency"] == "file moviedl.toml"
    assert settings.checks_quarantine_warn_share == 0.01
    assert settings.sources["checks.quarantine_warn_share"] == "file moviedl.toml"
    assert settings.sources["lake"] == "default"


def test_uncommenting_every_default_gives_the_defaults(clean_env: Path) -> None:
    """Each line that shows a default holds it in TOML form: live, they change no value."""
    from moviedl.core.starter import starter_config

    text = starter_config()
    with_default = [m.group(1) for m in map(ASSIGNMENT.fullmatch, text.splitlines()) if m and m.group(2) != '""']
    write_config(clean_env / "moviedl.toml", uncommented(text, *with_default))
    settings = load_settings(env={})
    assert effective(settings) == effective(load_settings(env={}, config_path=os.devnull))
    assert sum(source.startswith("file ") for source in settings.sources.values()) == len(with_default) > 30


def test_a_setting_without_default_uncommented_unchanged_is_refused_by_name(clean_env: Path) -> None:
    from moviedl.core.starter import starter_config

    write_config(clean_env / "moviedl.toml", uncommented(starter_config(), "kms_key_id"))
    with pytest.raises(ConfigError, match="'s3.kms_key_id' is ''; expected a non-empty string"):
        load_settings(env={})


def test_the_starter_never_overwrites_unless_forced(clean_env: Path) -> None:
    from moviedl.core.starter import starter_config, write_starter_config

    mine = write_config(clean_env / "moviedl.toml", "lake = 'mine'\n")
    with pytest.raises(ConfigError, match="moviedl.toml already exists and was left as it is") as caught:
        write_starter_config(mine)
    assert caught.value.exit_code == 2
    assert mine.read_text() == "lake = 'mine'\n"
    assert write_starter_config(mine, force=True) == mine
    assert mine.read_text("utf-8") == starter_config()
    assert [p.name for p in clean_env.iterdir()] == ["moviedl.toml"]  # no temporary file left
    with pytest.raises(ConfigError, match="already exists"):  # a folder: its moviedl.toml
        write_starter_config(clean_env)
    (clean_env / "project").mkdir()
    assert write_starter_config(clean_env / "project") == clean_env / "project" / "moviedl.toml"
    with pytest.raises(ConfigError, match="the folder .*missing does not exist"):
        write_starter_config(clean_env / "missing" / "moviedl.toml")


# --- the config file of a project, from any of its subfolders -------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``project/moviedl.toml`` (relative lake, sources and spill folder) and a subfolder
    ``project/incoming/daily`` that is the working directory."""
    root = tmp_path / "project"
    (root / "incoming" / "daily").mkdir(parents=True)
    write_config(
        root / "moviedl.toml",
        'lake = "lake"\n[run]\nsources = ["incoming/movies.csv", "/data/series.csv"]\n'
        '[duckdb]\ntemp_directory = "../spill"\n[tmdb]\nconcurrency = 3\n',
    )
    monkeypatch.chdir(root / "incoming" / "daily")
    return root


def test_the_config_file_is_found_in_a_parent_folder(project: Path) -> None:
    settings = load_settings()
    config = project / "moviedl.toml"
    assert settings.config_file == str(config) and settings.tmdb_concurrency == 3
    assert settings.sources["tmdb.concurrency"] == f"file {config}"
    # relative paths of that file are relative to its folder, as they are from the folder itself
    assert settings.lake == str(project / "lake")
    assert settings.run_sources == (str(project / "incoming" / "movies.csv"), "/data/series.csv")
    assert settings.duckdb_temp_directory == str(project.parent / "spill")


def test_from_the_project_folder_itself_nothing_changes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    settings = load_settings()
    assert (settings.config_file, settings.lake, settings.sources["lake"]) == ("moviedl.toml", "lake", "file moviedl.toml")


def test_the_nearest_config_file_wins_and_flags_env_and_config_still_win(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(project / "incoming" / "moviedl.toml", "[tmdb]\nconcurrency = 5\n")
    assert load_settings().tmdb_concurrency == 5
    assert load_settings().lake == "./lake"  # that file sets no lake: the default, not the outer file's

    other = write_config(tmp_path / "other.toml", 'lake = "elsewhere"\n[tmdb]\nconcurrency = 7\n')
    monkeypatch.setenv("MOVIEDL_CONFIG", str(other))
    settings = load_settings()
    # a file named explicitly: its relative paths stay relative to the working directory, as before
    assert (settings.tmdb_concurrency, settings.lake, settings.config_file) == (7, "elsewhere", str(other))
    assert load_settings(config_path=str(project / "moviedl.toml")).lake == "lake"
    monkeypatch.setenv("MOVIEDL_LAKE", "from-env")
    assert load_settings().lake == "from-env"
    assert load_settings({"lake": "from-flag"}).lake == "from-flag"


def test_no_config_file_at_all_with_dev_null(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIEDL_CONFIG", os.devnull)
    settings = load_settings()
    assert (settings.lake, settings.tmdb_concurrency, settings.sources["lake"]) == ("./lake", 8, "default")


def test_an_s3_lake_from_a_parent_config_is_left_as_it_is(project: Path) -> None:
    write_config(project / "moviedl.toml", 'lake = "s3://bucket/lake"\n')
    assert load_settings().lake == "s3://bucket/lake"


def test_config_show_names_the_file_found_above(invoke, project: Path) -> None:
    result = invoke("config", "show", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {row["key"]: row for row in json.loads(result.stdout)["rows"]}
    config = project / "moviedl.toml"
    assert rows["lake"] == {"key": "lake", "value": str(project / "lake"), "source": f"file {config}"}
    assert rows["tmdb.concurrency"]["source"] == f"file {config}"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a file away")
def test_a_parent_config_of_another_user_is_refused(project: Path, invoke) -> None:
    config = project / "moviedl.toml"
    os.chown(config, 4242, 4242)
    with pytest.raises(ConfigError, match="belongs to another user .uid 4242.; moviedl does not use it") as caught:
        load_settings()
    assert f"--config {config}" in str(caught.value)
    result = invoke("config", "show")
    assert result.exit_code == 2 and str(config) in " ".join(result.output.split())
    assert load_settings(config_path=str(config)).tmdb_concurrency == 3  # named explicitly: used
