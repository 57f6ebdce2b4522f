"""One configuration layer for every command.

Precedence, highest first: command-line flag > environment variable > config file > default.
The config file is ``--config PATH``, else ``$MOVIEDL_CONFIG``, else the nearest ``moviedl.toml``
in the working directory or one of its parents (:func:`find_config_file`); relative paths in a
file found in a parent (``lake``, ``run.sources``, ``duckdb.temp_directory``) are relative to
that file's folder, so a command gives the same answer from any subfolder of the project. (Those
of a file named by ``--config``/``$MOVIEDL_CONFIG`` stay relative to the working directory, as
they always were.) :func:`load_settings` builds one immutable :class:`Settings` that is passed down
explicitly; every value remembers where it came from so ``moviedl config show`` can say so.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from moviedl.core.errors import ConfigError

DEFAULT_CONFIG_FILE = "moviedl.toml"
CONFIG_ENV = "MOVIEDL_CONFIG"


class Secret:
    """A value that never prints: ``str()``/``repr()`` give a mask, ``reveal()`` the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    def __str__(self) -> str:
        return "****"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# --- value parsers: each takes the raw value (str from env/flag, or a TOML value) -----------


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a non-empty string")
    return value.strip()


def _lake(value: Any) -> str:
    text = _str(value)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme != "s3":
            raise ValueError("a local folder or s3://bucket/prefix")
        if not rest.split("/", 1)[0]:
            raise ValueError("s3://bucket/prefix with a bucket name")
    return text


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(_str(value))
    except ValueError:
        raise ValueError("a date YYYY-MM-DD") from None


def _number(value: Any, expected: str) -> float:
    """``value`` (a TOML number, or text from the environment or a flag) as a finite float.
    ``inf`` and ``nan`` (TOML's ``inf``/``nan``, the strings "inf", "Infinity", "nan", "1e999")
    are refused: an endless timeout or rate would switch off the protection the setting is for."""
    if isinstance(value, bool):
        raise ValueError(expected)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(expected) from None
    if not math.isfinite(number):
        raise ValueError(f"{expected}; inf and nan are not allowed")
    return number


def _positive_int(value: Any) -> int:
    expected = "a whole number ≥ 1"
    if isinstance(value, bool):
        raise ValueError(expected)
    try:
        if isinstance(value, float):  # TOML's 4.0, inf, nan: int() would round, or overflow
            raise ValueError(expected)
        number = int(value)
    except (TypeError, ValueError):
        if isinstance(value, float | str):
            _number(value, expected)  # says so when it is inf or nan
        raise ValueError(expected) from None
    if number < 1:
        raise ValueError(expected)
    return number


def _positive_float(value: Any) -> float:
    number = _number(value, "a finite number > 0")
    if not number > 0:
        raise ValueError("a finite number > 0")
    return number


def _records_per_file(value: Any) -> int:
    number = _positive_int(value)
    if number > 100:
        raise ValueError("a whole number from 1 to 100")
    return number



def _one_of(*choices: str, fold: bool = False) -> Callable[[Any], str]:
    """A parser accepting only ``choices`` (``fold``: in any letter case)."""

    def parse(value: Any) -> str:
        text = _str(value).lower() if fold else _str(value)
        if text not in choices:
            raise ValueError(f"one of {', '.join(choices)}")
        return text

    return parse


_sse = _one_of("AES256", "aws:kms", "none")
_qs_mode = _one_of("direct", "spice")
_catalog = _one_of("none", "athena", "glue")
_engine = _one_of("duckdb", "spark", fold=True)


def _paths(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ValueError("a list of file paths (in the environment: comma-separated)")
    return tuple(i.strip() for i in items)



def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _str(value).lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError("true or false")




def _spark_master(value: Any) -> str:
    text = _str(value)
    if not re.fullmatch(r"local(\[(\d+|\*)(,\s*\d+)?\])?|(spark|k8s|mesos)://\S+|yarn", text):
        raise ValueError("a Spark master URL: local[N] (N cores, or * for all), spark://host:port, yarn or k8s://...")
    if re.fullmatch(r"local\[0+(,.*)?\]", text):
        raise ValueError("local[N] with N ≥ 1 cores")
    return text


#: Spark refuses a driver below about 450 MiB (its reserved 300 MiB × 1.5).
_MIN_DRIVER_MIB = 512
_UNITS_MIB = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}


def _spark_memory(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    found = re.fullmatch(r"(\d+)\s*([kmgt])b?", text)
    if not found:
        raise ValueError("a JVM memory size with its unit, e.g. 2g or 1536m")
    if int(found.group(1)) * _UNITS_MIB[found.group(2)] < _MIN_DRIVER_MIB:
        raise ValueError(f"at least {_MIN_DRIVER_MIB}m (Spark does not start with less)")
    return f"{found.group(1)}{found.group(2)}"


def _role_arn(value: Any) -> str:
    text = _str(value)
    if not re.fullmatch(r"arn:[\w-]+:iam::(\d{12}|\*):role/[\w+=,.@/-]+", text):
        raise ValueError("an IAM role ARN, arn:aws:iam::<account id>:role/<name>")
    return text


def _worker_type(value: Any) -> str:
    text = _str(value)
    if not re.fullmatch(r"[A-Z]\.\d+X", text):
        raise ValueError("a Glue worker type such as G.1X, G.2X, G.4X or G.8X")
    return text


def _workers(value: Any) -> int:
    number = _positive_int(value)
    if number < 2:
        raise ValueError("a whole number ≥ 2 (a Glue Spark job has a driver and at least one executor)")
    return number


def _share(value: Any) -> float:
    number = _number(value, "a share from 0 to 1 (e.g. 0.05 for 5%)")
    if not 0 <= number <= 1:
        raise ValueError("a share from 0 to 1 (e.g. 0.05 for 5%)")
    return number


SEVERITIES = ("error", "warn", "off")

#: The stable names of the checks ``refine`` and ``validate`` report, which ``checks.severity``
#: applies to (docs/validate.md describes each). They live here, below the checks that make them,
#: so that a misspelt name in the config is refused up front instead of silently matching nothing;
#: tests/test_checks.py proves the list equal to the checks the commands run and the docs list.
CHECK_NAMES: tuple[str, ...] = (
    # Raw
    "present", "csv format", "manifest", "checksum", "row count", "file size", "json parses",
    "records per file", "one kind per file", "imdb id once",
    # Trusted and Refined: the audit, then the value checks
    "readable", "not empty", "schema", "rows reconcile", "not null", "primary key", "unique",
    "foreign key", "parent covered", "columns carry data", "value ranges", "accepted values",
    "imdb id format", "quarantine", "fact covers trusted", "refined up to date", "tmdb coverage", "freshness",
)


def _severities(value: Any) -> dict[str, str]:
    """``{check name: error|warn|off}`` from a TOML table, or ``name=level,...`` in the environment."""
    if isinstance(value, str):
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        if not all(len(p) == 2 for p in pairs):
            raise ValueError("check=level pairs, e.g. 'value ranges=warn,freshness=error'")
        value = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(value, dict):
        raise ValueError("a table of check name = error, warn or off")
    levels = {str(k).strip(): v for k, v in value.items()}
    unknown = [name for name in levels if name not in CHECK_NAMES]
    if unknown:
        guesses = [
            f"{name!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(name.lower(), CHECK_NAMES, 1))
            else repr(name)
            for name in unknown
        ]
        raise ValueError(
            f"known check names (not {', '.join(guesses)}); the checks are: {', '.join(CHECK_NAMES)}"
        )
    bad = [f"{k}={v}" for k, v in levels.items() if not isinstance(v, str) or v not in SEVERITIES]
    if bad:
        raise ValueError(f"levels error, warn or off (not {', '.join(bad)})")
    return levels


def _secret(value: Any) -> Secret:
    return Secret(_str(value))


@dataclass(frozen=True)
class Option:
    """One setting: its file key, environment variable(s), default and parser."""

    key: str
    parse: Callable[[Any], Any]
    default: Any = None
    env: tuple[str, ...] = ()
    secret: bool = False
    help: str = ""
    table: bool = False  # a TOML table of free keys (not flattened further)
    attr: str = ""  # the Settings field that holds it


def setting(
    key: str,
    parse: Callable[[Any], Any],
    default: Any = None,
    env: tuple[str, ...] = (),
    *,
    secret: bool = False,
    help: str = "",
    table: bool = False,
) -> Any:
    """Declare a :class:`Settings` field as a setting: its config key, parser, default (a value,
    or a function of nothing), environment variables (the first set wins) and help."""
    return field(metadata={"option": Option(key, parse, default, env, secret, help, table)})


def _today() -> dt.date:
    """today (UTC)"""  # what the default is called where it is described (moviedl.core.starter)
    return dt.datetime.now(dt.UTC).date()




@dataclass(frozen=True)
class Settings:
    """The effective configuration. Build it with :func:`load_settings`.

    Each setting is declared once, here: its type, and (:func:`setting`) its config key, parser,
    default, environment variables and help, from which :data:`OPTIONS`, the CLI's help and
    docs/configuration.md's table are made."""

    lake: str = setting("lake", _lake, "./lake", ("MOVIEDL_LAKE",), help="local folder or s3://bucket/prefix")
    date: dt.date = setting("date", _date, _today, ("MOVIEDL_DATE",), help="ingestion date used in lake paths")
    s3_endpoint_url: str | None = setting("s3.endpoint_url", _str, None, ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), help="S3-compatible endpoint (MinIO, LocalStack, tests)")
    s3_sse: str = setting("s3.sse", _sse, "AES256", ("MOVIEDL_S3_SSE",), help="server-side encryption for S3 writes")
    s3_kms_key_id: str | None = setting("s3.kms_key_id", _str, None, ("MOVIEDL_S3_KMS_KEY_ID",), help="KMS key for aws:kms")
    s3_multipart_threshold_mb: int = setting("s3.multipart_threshold_mb", _positive_int, 64, help="files larger than this use multipart upload")
    s3_part_size_mb: int = setting("s3.part_size_mb", _positive_int, 16, help="multipart part size (S3 minimum 5)")
    s3_connect_timeout_seconds: float = setting("s3.connect_timeout_seconds", _positive_float, 5.0, help="S3 connect timeout per attempt")
    s3_read_timeout_seconds: float = setting("s3.read_timeout_seconds", _positive_float, 20.0, help="S3 read timeout per attempt (a frozen endpoint fails after max_attempts of these)")
    s3_max_attempts: int = setting("s3.max_attempts", _positive_int, 3, ("AWS_MAX_ATTEMPTS",), help="attempts per S3 request, the first included")
    aws_profile: str | None = setting("aws.profile", _str, None, ("AWS_PROFILE",), help="AWS profile")
    aws_region: str | None = setting("aws.region", _str, None, ("AWS_REGION", "AWS_DEFAULT_REGION"), help="AWS region")
    tmdb_base_url: str = setting("tmdb.base_url", _str, "https://api.themoviedb.org/3", ("MOVIEDL_TMDB_BASE_URL",), help="TMDB API base URL")
    tmdb_api_key: Secret | None = setting("tmdb.api_key", _secret, None, ("TMDB_API_KEY",), secret=True, help="TMDB v3 API key")
    tmdb_read_access_token: Secret | None = setting("tmdb.read_access_token", _secret, None, ("TMDB_READ_ACCESS_TOKEN",), secret=True, help="TMDB read access token (Bearer)")
    tmdb_requests_per_second: float = setting("tmdb.requests_per_second", _positive_float, 40.0, help="client-side TMDB rate limit")
    tmdb_concurrency: int = setting("tmdb.concurrency", _positive_int, 8, help="concurrent TMDB workers")
    tmdb_records_per_file: int = setting("tmdb.records_per_file", _records_per_file, 100, help="records per Raw TMDB JSON file")
    tmdb_timeout_seconds: float = setting("tmdb.timeout_seconds", _positive_float, 10.0, help="TMDB request timeout")
    tmdb_max_attempts: int = setting("tmdb.max_attempts", _positive_int, 6, help="attempts per TMDB request before giving up")
    tmdb_outage_seconds: float = setting("tmdb.outage_seconds", _positive_float, 30.0, help="stop ingest-tmdb (exit 3) when every TMDB request has failed for this long")
    tmdb_changes_days: int = setting("tmdb.changes_days", _positive_int, 14, help="days back TMDB's change lists are trusted; after a longer gap without a sync, ingest-tmdb refetches the titles fetched before it")
    athena_database: str = setting("athena.database", _str, "moviedl", help="Athena/Glue database")
    athena_workgroup: str = setting("athena.workgroup", _str, "primary", help="Athena workgroup")
    athena_output_location: str | None = setting("athena.output_location", _str, None, help="Athena query result location (s3://...)")
    refine_keep_versions: int = setting("refine.keep_versions", _positive_int, 3, help="previous versions of each table kept under _moviedl/")
    refine_engine: str = setting("refine.engine", _engine, "duckdb", ("MOVIEDL_ENGINE",), help="the SQL engine refine runs on: duckdb (one machine) or spark (pip install 'moviedl[spark]')")
    spark_master: str = setting("spark.master", _spark_master, "local[2]", ("MOVIEDL_SPARK_MASTER",), help="where refine --engine spark starts Spark: local[N] (N cores of this machine), spark://host:port...")
    spark_driver_memory: str = setting("spark.driver_memory", _spark_memory, "2g", ("MOVIEDL_SPARK_DRIVER_MEMORY",), help="memory of the Spark driver refine --engine spark starts (in local mode: all of Spark's)")
    glue_job_name: str = setting("glue.job_name", _str, "moviedl-refine", ("MOVIEDL_GLUE_JOB_NAME",), help="the AWS Glue job 'moviedl glue-job' deploys and starts")
    glue_role_arn: str | None = setting("glue.role_arn", _role_arn, None, ("MOVIEDL_GLUE_ROLE_ARN",), help="IAM role the Glue job runs as (needed by glue-job deploy; policy: athena-ddl --policy)")
    glue_worker_type: str = setting("glue.worker_type", _worker_type, "G.1X", help="Glue worker type: G.1X = 1 DPU (4 vCPU, 16 GB), G.2X = 2 DPU...")
    glue_workers: int = setting("glue.workers", _workers, 2, help="Glue workers per run (one is the Spark driver)")
    quicksight_principal: str | None = setting("quicksight.principal", _str, None, ("MOVIEDL_QUICKSIGHT_PRINCIPAL",), help="the QuickSight user or group ARN 'moviedl quicksight deploy' shares the dashboard and datasets with")
    quicksight_account_id: str | None = setting("quicksight.account_id", _str, None, help="the AWS account of the QuickSight resources (default: the caller's, from STS)")
    quicksight_mode: str = setting("quicksight.mode", _qs_mode, "direct", help="QuickSight datasets query Athena directly (direct) or import into SPICE (spice), refreshed by run")
    glue_timeout_minutes: int = setting("glue.timeout_minutes", _positive_int, 60, help="Glue stops a run after this long (TIMEOUT); glue-job start --wait waits 15 minutes more")
    checks_severity: Mapping[str, str] = setting("checks.severity", _severities, dict, ("MOVIEDL_CHECKS_SEVERITY",), table=True, help="per check: error (fails, exit 1), warn or off, e.g. {\"tmdb coverage\" = \"error\"}")
    checks_quarantine_warn_share: float = setting("checks.quarantine_warn_share", _share, 0.01, help="a table warns when more than this share of its input rows is quarantined (0.01: 1%)")
    checks_quarantine_fail_share: float = setting("checks.quarantine_fail_share", _share, 0.1, help="a table fails its audit when more than this share of its input rows is quarantined (0.1: 10%)")
    validate_min_tmdb_coverage: float = setting("validate.min_tmdb_coverage", _share, 0.5, help="validate warns when a smaller share of titles has TMDB data")
    validate_max_age_days: int = setting("validate.max_age_days", _positive_int, 7, help="validate warns when the latest Trusted partition is older than this")
    report_min_group_size: int = setting("report.min_group_size", _positive_int, 10, help="report: a group with fewer titles (credits) is listed as too few to compare, not drawn as a fact")
    run_sources: tuple[str, ...] = setting("run.sources", _paths, (), ("MOVIEDL_SOURCES",), help="CSV files 'moviedl run' ingests when none are given")
    run_catalog: str = setting("run.catalog", _catalog, "none", help="'moviedl run' ends with athena-ddl --execute (athena) or --glue (glue)")
    run_quicksight: bool = setting("run.quicksight", _boolean, False, help="'moviedl run' ends by refreshing the SPICE datasets 'moviedl quicksight deploy' created")
    duckdb_memory_limit: str = setting("duckdb.memory_limit", _str, "768MB", help="DuckDB memory_limit: beyond it DuckDB spills to disk (refine of 10M rows peaks near 1 GB)")
    duckdb_threads: int | None = setting("duckdb.threads", _positive_int, None, help="DuckDB threads (default: all cores)")
    duckdb_temp_directory: str | None = setting("duckdb.temp_directory", _str, None, help="DuckDB spill directory")
    config_file: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    date_given: bool = False

    def secrets(self) -> list[str]:
        """The values of the secret settings that are set: logs, records and errors redact them."""
        values = (getattr(self, option.attr) for option in OPTIONS if option.secret)
        return [value.reveal() for value in values if value is not None]

    def describe(self) -> list[dict[str, Any]]:
        """Every setting as ``{key, value, source}``, secrets masked; values keep their JSON
        type (numbers, booleans, lists, a table as an object; unset is None)."""
        rows = []
        for option in OPTIONS:
            value = getattr(self, option.attr)
            rows.append({"key": option.key, "value": "****" if option.secret and value else _plain(value),
                         "source": self.sources[option.key]})
        return rows


def _plain(value: Any) -> Any:
    """A setting's value as JSON has it: a path or date as text, a tuple as a list."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


#: every setting, in declaration order, as the Settings fields declare them
OPTIONS: tuple[Option, ...] = tuple(
    replace(f.metadata["option"], attr=f.name) for f in fields(Settings) if "option" in f.metadata
)
OPTIONS_BY_KEY: Mapping[str, Option] = {o.key: o for o in OPTIONS}


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and not (full in OPTIONS_BY_KEY and OPTIONS_BY_KEY[full].table):
            flat.update(_flatten(value, f"{full}."))
        else:
            flat[full] = value
    return flat


def find_config_file(start: Path | None = None) -> Path | None:
    """The ``moviedl.toml`` that applies in ``start`` (default: the working directory): the first
    found in it or in one of its parents, up to the filesystem root, as git finds ``.git``; None
    when there is none. One in the working directory is returned as ``moviedl.toml`` (relative,
    as always); one above it with its full path.

    One found *above* the working directory must belong to this user (or root), as git checks
    a repository's owner: else anyone who can write a parent folder (``/tmp``) could point your
    commands at their lake or TMDB URL. Such a file is refused (:class:`ConfigError`), not skipped.
    """
    try:
        here = Path.cwd() if start is None else Path(start).absolute()
    except OSError:  # the working directory was removed
        return None
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_CONFIG_FILE
        try:
            if not candidate.is_file():
                continue
        except OSError:  # a folder we may not look into
            continue
        if folder == here:
            return candidate if start is not None else Path(DEFAULT_CONFIG_FILE)
        _check_owner(candidate, here)
        return candidate
    return None


def _check_owner(path: Path, here: Path) -> None:
    if not hasattr(os, "getuid"):
        return
    owner = path.stat().st_uid
    if owner not in (os.getuid(), 0):
        raise ConfigError(
            f"{path} applies here (it is the nearest {DEFAULT_CONFIG_FILE} above {here}) "
            f"but belongs to another user (uid {owner}); moviedl does not use it",
            hint=f"Use it explicitly with --config {path} (or {CONFIG_ENV}) if you trust it, or "
            f"put a {DEFAULT_CONFIG_FILE} of your own in the working directory.",
        )


def _find_config_file(flag_path: str | None, env: Mapping[str, str]) -> tuple[Path | None, str]:
    if flag_path:
        return Path(flag_path), "--config"
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]), CONFIG_ENV
    found = find_config_file()
    return (found, "found") if found else (None, "")


#: Settings whose value is a local path (or paths): in a config file found in a parent folder a
#: relative one means relative to that file's folder, as it does from the folder itself.
_PATH_SETTINGS = ("lake", "run.sources", "duckdb.temp_directory")


def _relative_to(folder: Path, key: str, value: Any) -> Any:
    """``value`` of the path setting ``key`` with a relative local path made absolute under ``folder``
    (anything else, including a value the setting's parser will refuse, is left as it is)."""

    def resolve(item: Any) -> Any:
        if not isinstance(item, str) or not item.strip() or "://" in item or Path(item.strip()).is_absolute():
            return item
        return os.path.normpath(folder / item.strip())

    if key == "run.sources" and isinstance(value, str):
        return ",".join(resolve(item) for item in value.split(","))
    if isinstance(value, list):
        return [resolve(item) for item in value]
    return resolve(value)


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse and check a config file; raise :class:`ConfigError` naming the file and key."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    values = _flatten(table)
    problems = []
    for key in values:
        if key not in OPTIONS_BY_KEY:
            known = ", ".join(o.key for o in OPTIONS)
            problems.append(f"{path}: unknown key '{key}' (known keys: {known})")
    secrets = [k for k in values if k in OPTIONS_BY_KEY and OPTIONS_BY_KEY[k].secret]
    if secrets and os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        problems.append(
            f"{path}: holds {', '.join(secrets)} but other users can read it; "
            f"run 'chmod 600 {path}' or set the secret in the environment instead"
        )
    if problems:
        raise ConfigError("\n".join(problems))
    return values


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_path: str | None = None,
) -> Settings:
    """Build the effective settings: flag > environment > config file > default.

    ``flags`` maps option keys (``"lake"``, ``"athena.database"``...) to values given on the
    command line; ``None`` values mean "not given".
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    path, how = _find_config_file(config_path, env)
    file_values = read_config_file(path) if path else {}
    if path and how == "found" and path.is_absolute():  # found in a parent of the working directory
        for key in _PATH_SETTINGS:
            if key in file_values:
                file_values[key] = _relative_to(path.parent, key, file_values[key])

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for option in OPTIONS:
        raw: Any = None
        where = ""
        if option.key in flags:
            raw, where = flags[option.key], "flag"
        else:
            for name in option.env:
                if env.get(name):
                    raw, where = env[name], f"env {name}"
                    break
            else:
                if option.key in file_values:
                    raw, where = file_values[option.key], f"file {path}"
        if where:
            try:
                values[option.attr] = option.parse(raw)
            except ValueError as exc:
                shown = "****" if option.secret else repr(raw)
                problems.append(f"{where}: '{option.key}' is {shown}; expected {exc}")
                continue
        else:
            default = option.default() if callable(option.default) else option.default
            values[option.attr] = default
            where = "default"
        sources[option.key] = where
    if problems:
        raise ConfigError("\n".join(problems))
    if values["s3_sse"] == "aws:kms" and not values["s3_kms_key_id"]:
        raise ConfigError(
            "s3.sse is aws:kms but no KMS key is set; set MOVIEDL_S3_KMS_KEY_ID "
            "or s3.kms_key_id in the config file"
        )
    if values["s3_part_size_mb"] < 5:
        raise ConfigError("s3.part_size_mb must be at least 5 (the S3 minimum part size)")
    if values["checks_quarantine_fail_share"] < values["checks_quarantine_warn_share"]:
        raise ConfigError(
            "checks.quarantine_fail_share must not be below checks.quarantine_warn_share"
        )
    latest = _today() + dt.timedelta(days=1)
    if sources["date"] != "default" and values["date"] > latest:
        raise ConfigError(
            f"{'--date' if sources['date'] == 'flag' else sources['date']}: "
            f"{values['date'].isoformat()} is in the future "
            f"(today is {_today().isoformat()} UTC; dates up to {latest.isoformat()} are accepted)"
        )
    return Settings(
        **values,
        config_file=str(path) if path else None,
        sources=sources,
        date_given=sources["date"] != "default",
    )
