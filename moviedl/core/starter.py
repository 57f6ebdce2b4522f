"""A starter ``moviedl.toml``: every setting, commented out, with its help, environment
variables and default, grouped by section, generated from the declarations in
:mod:`moviedl.core.config` so that it never drifts from them.

The section headers (``[s3]``, ``[tmdb]``...) are left in: an empty table is valid TOML and sets
nothing, and uncommenting one line under its header is then all it takes to set that setting.
The file as written gives exactly the settings of no file at all.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from moviedl.core.config import CONFIG_ENV, DEFAULT_CONFIG_FILE, OPTIONS, Option
from moviedl.core.errors import ConfigError, ServiceError

_HEADER = f"""\
# moviedl configuration.
#
# Every setting is listed below, commented out, with its default: this file as it stands
# changes nothing. Uncomment a line (remove the leading "# ") and edit its value to set it.
#
# Precedence, highest first: a command-line flag, an environment variable (named with each
# setting), this file, the built-in default. moviedl uses --config FILE, else ${CONFIG_ENV},
# else the nearest {DEFAULT_CONFIG_FILE} in the working directory or one of its parents.
# Relative paths in a file found that way are relative to the file's folder.
# `moviedl config show` prints every effective value and where it came from.
#
# Secrets (tmdb.api_key, tmdb.read_access_token) are best set in the environment; in this
# file only if no other user can read it (chmod 600 {DEFAULT_CONFIG_FILE}).
"""


def _toml(value: Any) -> str:
    """``value`` as a TOML value (the types setting defaults have)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {value!r}")


def _lines(option: Option, name: str) -> list[str]:
    """The commented block of one setting; ``name`` is its key within its section. A setting
    without a default shows ``""``: uncommented unchanged, it is refused naming the key."""
    default = option.default
    if isinstance(default, type):  # dict, tuple...: an empty one
        shown = value = _toml(default())
    elif callable(default):
        shown, value = (default.__doc__ or "computed when a command runs").strip(), '""'
    else:
        shown = "none" if default is None else _toml(default)
        value = '""' if default is None else shown
    where = f"env {', '.join(option.env)}; " if option.env else ""
    return [
        f"# {option.help or option.key}",
        f"# ({where}default {shown}{'; a secret' if option.secret else ''})",
        f"# {name} = {value}",
    ]


def starter_config() -> str:
    """The text of a commented ``moviedl.toml`` holding every setting (see the module's doc)."""
    sections: dict[str, list[Option]] = {}
    for option in OPTIONS:
        sections.setdefault(option.key.rpartition(".")[0], []).append(option)
    parts = [_HEADER]
    # top-level keys first: in TOML a key after a [section] header belongs to that section
    for section, options in sorted(sections.items(), key=lambda item: item[0] != ""):
        block = [f"[{section}]"] if section else []
        for option in options:
            block.extend(["", *_lines(option, option.key.rpartition(".")[2])])
        parts.append("\n".join(block).strip("\n") + "\n")
    return "\n".join(parts)


def write_starter_config(path: Path, *, force: bool = False) -> Path:
    """Write :func:`starter_config` to ``path`` (a folder: its ``moviedl.toml``) and return the
    path written. The file is readable by its
    owner only (``chmod 600``), so that a secret may be added to it later. An existing file is
    refused (:class:`ConfigError`, exit 2) unless ``force``: then it is replaced in one step,
    never left half-written. A full disk is a :class:`ServiceError` (exit 3), as everywhere."""
    path = Path(path)
    if path.is_dir():
        path = path / DEFAULT_CONFIG_FILE
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give the path of the config file to write")
    if path.exists() and not force:
        raise _exists(path)
    if not path.parent.is_dir():
        raise ConfigError(f"cannot write {path}: the folder {path.parent} does not exist")
    text = starter_config().encode("utf-8")
    try:
        if force:
            fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            _write(fd, temp, text)
            os.replace(temp, path)
        else:  # O_EXCL: a file that appeared since the check above is not overwritten either
            _write(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), str(path), text)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ServiceError(f"cannot write {path}: {exc.strerror}") from None
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _write(fd: int, name: str, data: bytes) -> None:
    """Write ``data`` to the new file ``name`` open as ``fd`` (mode 600); removed if that fails."""
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _exists(path: Path) -> ConfigError:
    return ConfigError(
        f"{path} already exists and was left as it is",
        hint="Edit it, move it away first, or overwrite it with --force.",
    )
