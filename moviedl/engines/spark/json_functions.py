"""JSON as DuckDB reads it, for Spark: the records of a JSON array file as the exact text stored
(:func:`json_records`), and on Spark 3.5, which lacks VARIANT, the JSON functions refine's SQL uses
(:func:`json_kind`, :func:`json_array`) as Python functions that answer as DuckDB's do.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:

    pass


def json_records(text: str) -> list[str]:
    """The elements of a JSON array text, each as the exact text it has in the file (raises
    ValueError when the text is not one JSON array)."""
    decoder = json.JSONDecoder()
    found: list[str] = []
    n = len(text)
    i = _skip(text, 0)
    if i >= n or text[i] != "[":
        raise ValueError("expected a top-level JSON array")
    i = _skip(text, i + 1)
    if i < n and text[i] == "]":
        i = _skip(text, i + 1)
        if i != n:
            raise ValueError(f"unexpected text after the array at character {i}")
        return found
    while True:
        _value, end = decoder.raw_decode(text, i)
        found.append(text[i:end])
        i = _skip(text, end)
        if i < n and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if i < n and text[i] == "]":
            i = _skip(text, i + 1)
            if i != n:
                raise ValueError(f"unexpected text after the array at character {i}")
            return found
        raise ValueError(f"expected ',' or ']' at character {i}")


def file_records(content: bytes | None) -> tuple[list[str] | None, str | None]:
    """(records, None) of a JSON array file's bytes (:func:`json_records`), or (None, why)
    when they are not UTF-8 or not one JSON array: run by the executors on each file they read,
    so that a bad file is reported by name rather than as a task failure."""
    try:
        return json_records((content or b"").decode("utf-8")), None
    except (UnicodeDecodeError, ValueError) as exc:
        return None, str(exc)


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\n\r":
        i += 1
    return i


class _Int(str):
    """A JSON whole number, as written."""


class _Float(str):
    """A JSON number with a fraction or an exponent, as written."""


_MISSING = object()


_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_at(text: str | None, path: str | None) -> Any:
    """The value at ``path`` ('$.a.b', '$.a[0]') of the JSON ``text``; ``_MISSING`` when the
    text is not JSON or the path leads nowhere."""
    if text is None or path is None or not path.startswith("$"):
        return _MISSING
    try:
        value = json.loads(text, parse_int=_Int, parse_float=_Float, parse_constant=_no_constant)
    except ValueError:
        return _MISSING
    at, rest = 1, path
    while at < len(rest):
        step = _PATH_STEP.match(rest, at)
        if step is None:
            return _MISSING
        key, index, quoted = step.groups()
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
        else:
            name = key if key is not None else quoted
            if not isinstance(value, dict) or name not in value:
                return _MISSING
            value = value[name]
        at = step.end()
    return value


def _json_dump(value: Any) -> str:
    """JSON text of a parsed value, numbers as written, compact (as Spark writes a VARIANT)."""
    if isinstance(value, _Int | _Float):
        return str.__str__(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(_json_dump(v) for v in value) + "]"
    return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json_dump(v)}" for k, v in value.items()) + "}"


def json_kind(text: str | None, path: str | None) -> str | None:
    """``schema_of_variant(variant_get(try_parse_json(text), path))``'s kind of value."""
    value = _json_at(text, path)
    if value is _MISSING or value is None:
        return None
    if isinstance(value, _Int):
        return "BIGINT"
    if isinstance(value, _Float):
        return "DOUBLE"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, str):
        return "STRING"
    return "ARRAY" if isinstance(value, list) else "OBJECT"


def json_array(text: str | None, path: str | None) -> list[str] | None:
    """``try_variant_get(try_parse_json(text), path, 'array<variant>')``: each element's JSON."""
    value = _json_at(text, path)
    return [_json_dump(v) for v in value] if isinstance(value, list) else None
