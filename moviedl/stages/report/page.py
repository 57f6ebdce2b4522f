"""The report page: ``render(data)`` turns the report's data (see ``moviedl.stages.report.report``) into one
self-contained HTML document.

The page carries its data as a JSON block and draws every chart itself, in the browser, with
the inline script of ``assets/report.js`` (plain JS, no library); the filters (genre,
decade, kind, minimum votes) redraw the charts from that data. Nothing is fetched: the
Content-Security-Policy allows only the page's own inline style and script, by hash, so the
browser itself refuses any load from elsewhere. Without JavaScript the headline cards and the
data-quality panel still show (they are written here, in HTML), with a note where the charts go.

Numbers are formatted by one set of rules, here (cards, quality) and in the script (charts,
tables): :func:`format_value` and ``report.js``'s ``format`` agree to the character.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from importlib import resources
from typing import Any

NO_JS_NOTE = "charts need JavaScript (they are drawn in the page, offline)"
DATA_ID = "moviedl-data"
UNKNOWN_GENRE = "(unknown)"

#: What would make the page load something from elsewhere: a src/href/action to an http(s) or
#: protocol-relative URL, a CSS url() to one, or any @import.
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.I,
)
_DATA_BLOCK = re.compile(
    r'(<script type="application/json" id="' + DATA_ID + r'">)(.*?)(</script>)', re.S
)
_PANEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)  # the inline script, not the JSON block


# --- the page --------------------------------------------------------------------------------


def render(data: dict[str, Any]) -> str:
    """The complete HTML document for ``data`` (the report data contract)."""
    css, js = asset("report.css"), asset("report.js")
    panels = list(data.get("panels") or [])
    _check_panels(panels)
    if not any(p.get("chart") == "quality" for p in panels):
        panels.append({"id": "quality", "title": "Data quality", "subtitle": "", "chart": "quality"})
    meta = data.get("meta") or {}
    sections = "".join(
        _quality_section(p, data.get("quality") or {}) if p.get("chart") == "quality" else _chart_section(p)
        for p in panels
    )
    scope = str(meta.get("scope") or "")
    header = (
        '<header class="top"><h1>Movies and series</h1>'
        f'<p class="meta">lake <code>{escape(str(meta.get("lake", "")))}</code>'
        f" · generated {escape(str(meta.get('generated', '')))}"
        f" · moviedl {escape(str(meta.get('version', '')))}</p>"
        + (f'<p class="scope">Scope of this report: {escape(scope)}</p>' if scope else "")
        + "</header>"
    )
    filters = (
        '<form id="filters" class="filters" aria-label="filters">'
        f'<p class="note nojs">{escape(NO_JS_NOTE)}</p></form>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp(css, js)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Movies and series · moviedl report</title>"
        f"<style>{css}</style></head><body>"
        f"{header}{_cards(data.get('headline') or {})}{filters}"
        f'<main class="grid">{sections}</main>'
        '<svg id="measure" class="measure" aria-hidden="true"></svg>'
        f'<script type="application/json" id="{DATA_ID}">{embed_json(data)}</script>'
        f"<script>{js}</script></body></html>\n"
    )


def asset(name: str) -> str:
    """A file of ``moviedl/stages/report/assets`` as inlined (line ends normalised, as the parser does)."""
    text = (resources.files("moviedl.stages.report") / "assets" / name).read_text("utf-8")
    text = text.replace("\r\n", "\n")
    closing = "</script" if name.endswith(".js") else "</style"
    if closing in text.lower():
        raise ValueError(f"assets/{name} contains {closing!r}: it would end the inline element")
    return text


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def csp(style: str, script: str) -> str:
    """The page's Content-Security-Policy: nothing but this inline style and this inline script."""
    return (
        f"default-src 'none'; img-src data:; style-src '{_hash(style)}'; script-src '{_hash(script)}'"
    )


def page_csp(page: str) -> str | None:
    """The Content-Security-Policy a page declares (its meta tag), or None."""
    match = _CSP_META.search(page)
    return match.group(1) if match else None


def inline_code(page: str) -> tuple[list[str], list[str]]:
    """The texts of the page's inline <style> and executable inline <script> elements."""
    page = _DATA_BLOCK.sub(r"\1\3", page)
    return _STYLE.findall(page), _SCRIPT.findall(page)


def external_references(page: str) -> list[str]:
    """Everything in ``page`` that would load a resource from elsewhere; [] for an offline page.

    The embedded data is left out: a JSON block is never executed or rendered, so a title that
    reads like a URL cannot load anything.
    """
    return EXTERNAL.findall(_DATA_BLOCK.sub(r"\1\3", page))


def embed_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a <script> element: no '</' or '<!--' in it."""
    text = json.dumps(_finite(data), ensure_ascii=False, separators=(",", ":"), default=_jsonable)
    return text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


def read_embedded_data(page: str) -> Any:
    """The data block of a rendered page, decoded (JSON accepts the escaped '<\\/')."""
    match = _DATA_BLOCK.search(page)
    if not match:
        raise ValueError("no moviedl data block in the page")
    return json.loads(match.group(2))


def _finite(value: Any) -> Any:
    """NaN and infinities become null: JSON.parse rejects them, and the page would not draw."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    raise TypeError(f"the report data holds a {type(value).__name__}, which JSON cannot carry")


def _check_panels(panels: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for panel in panels:
        pid = str(panel.get("id", ""))
        if not _PANEL_ID.match(pid):
            raise ValueError(f"panel id {pid!r}: use letters, digits, '-' and '_' (it names an element)")
        if pid in seen:
            raise ValueError(f"panel id {pid!r} is used twice")
        seen.add(pid)


def _chart_section(panel: dict[str, Any]) -> str:
    classes = "panel wide" if panel.get("wide") else "panel"
    return (
        f'<section id="panel-{panel["id"]}" class="{classes}" data-chart="{escape(str(panel.get("chart")))}">'
        f"{_panel_header(panel)}"
        '<div class="badges"></div>'
        f'<div class="body"><p class="note nojs">{escape(NO_JS_NOTE)}</p></div>'
        '<p class="foot"></p></section>'
    )


def _panel_header(panel: dict[str, Any]) -> str:
    subtitle = str(panel.get("subtitle") or "")
    return (
        f"<header><h2>{escape(str(panel.get('title', '')))}</h2>"
        + (f'<p class="subtitle">{escape(subtitle)}</p>' if subtitle else "")
        + "</header>"
    )


# --- headline cards and the quality panel (plain HTML: they show without JavaScript) ---------

_CARDS = (
    ("titles", "titles", "count"),
    ("movies", "movies", "count"),
    ("series", "series", "count"),
    ("genres", "genres", "count"),
    ("artists", "artists", "count"),
    ("tmdb_coverage", "TMDB coverage", "percent"),
    ("latest_date", "latest data", "text"),
)


def _cards(headline: dict[str, Any]) -> str:
    known = {key for key, _, _ in _CARDS}
    cards = [c for c in _CARDS if c[0] in headline]
    cards += [(k, k.replace("_", " "), "count") for k, v in headline.items()
              if k not in known and isinstance(v, int | float) and not isinstance(v, bool)]
    html = []
    for key, label, kind in cards:
        value = headline.get(key)
        exact = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else format_value(kind, value)
        html.append(
            f'<div class="card" data-key="{escape(key)}" title="{escape(label)}: {escape(exact)}">'
            f"<b>{escape(format_value(kind, value))}</b><span>{escape(label)}</span></div>"
        )
    return f'<div class="cards">{"".join(html)}</div>'


def _status_class(status: str) -> str:
    status = status.lower()
    if status == "ok":
        return "ok"
    if status.startswith(("failed", "error")):
        return "bad"
    return "warn"


_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]00:?00)$")


def _when(stamp: str) -> str:
    """A run's UTC time stamp as the page's other dates read: 2024-05-01 03:00 UTC."""
    match = _ISO.match(stamp)
    return f"{match.group(1)} {match.group(2)} UTC" if match else stamp


def _quality_section(panel: dict[str, Any], quality: dict[str, Any]) -> str:
    items = []
    latest, age = quality.get("latest_date"), quality.get("age_days")
    if latest:
        if age is None:
            fresh = ""
        else:
            words = "today" if age == 0 else f"{format_value('count', age)} day{'s' if age != 1 else ''} old"
            fresh = f' · <span class="status {"ok" if age <= 2 else "warn"}">{escape(words)}</span>'
        items.append(("Freshness", f"newest Trusted partition <b>{escape(str(latest))}</b>{fresh}"))
    else:
        items.append(("Freshness", '<span class="status warn">no Trusted partition found</span>'))

    run = quality.get("last_run")
    if run:
        status = str(run.get("status") or "unknown")
        parts = [f'<span class="status {_status_class(status)}">{escape(status)}</span>']
        if run.get("command"):
            parts.append(f"moviedl {escape(str(run['command']))}")
        if run.get("exit_code") is not None and "exit" not in status:
            parts.append(f"exit code {escape(str(run['exit_code']))}")
        if run.get("ended_at"):
            parts.append(f"ended {escape(_when(str(run['ended_at'])))}")
        if run.get("run_id"):
            parts.append(f"run <code>{escape(str(run['run_id']))}</code>")
        text = " · ".join(f'<span class="part">{p}</span>' for p in parts)
        if run.get("error"):
            text += f'<br><span class="error">{escape(str(run["error"]))}</span>'
        items.append(("Last run", text))
    else:
        items.append(("Last run", "no run recorded in this lake"))

    quarantined = list(quality.get("quarantined") or [])
    total = quality.get("quarantined_rows") or 0
    if quarantined:
        items.append(("Quarantined rows", (
            f'<span class="status warn">{escape(format_value("count", total))} row{"s" if total != 1 else ""}</span>'
            f" in {len(quarantined)} file{'s' if len(quarantined) != 1 else ''} (kept out of Trusted)")))
    else:
        items.append(("Quarantined rows", '<span class="status ok">none</span>'))

    unknown = quality.get("unknown_genre_titles")
    if unknown is not None:
        noun = "title has" if unknown == 1 else "titles have"
        items.append(("Unknown genre", f"{escape(format_value('count', unknown))} {noun} only the "
                                       f"“{escape(UNKNOWN_GENRE)}” genre"))

    rows = "".join(f"<div><dt>{escape(k)}</dt><dd>{v}</dd></div>" for k, v in items)
    table = ""
    if quarantined:
        body = "".join(
            f"<tr><td>{escape(str(q.get('table', '')))}</td><td>{escape(str(q.get('dt', '')))}</td>"
            f'<td class="num">{"?" if q.get("rows") is None else escape(format_value("count", q["rows"]))}</td></tr>'
            for q in quarantined
        )
        table = (
            '<div class="table-wrap"><table class="data small quarantine"><thead><tr><th>table</th>'
            f'<th>date</th><th class="num">rows</th></tr></thead><tbody>{body}</tbody></table></div>'
        )
    return (
        f'<section id="panel-{panel["id"]}" class="panel quality" data-chart="quality" '
        f'data-rows="{len(quarantined)}">{_panel_header(panel)}'
        f'<div class="body"><dl class="quality">{rows}</dl>{table}</div></section>'
    )


# --- number formats (the same rules as report.js's `format`) ---------------------------------


def _fixed1(value: float) -> str:
    """One decimal, ties away from zero on the exact binary value: what JS toFixed(1) does."""
    return str(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _abbreviate(value: float) -> str:
    sign = "-" if value < 0 else ""
    a = abs(value)
    if a < 1000:
        if float(a).is_integer():
            return sign + str(int(a))
        text = _fixed1(a)
        if text != "1000.0":
            return sign + text
        a = 1000.0
    units = ((1e3, "k"), (1e6, "M"), (1e9, "B"))
    i = 2 if a >= 1e9 else 1 if a >= 1e6 else 0
    text = _fixed1(a / units[i][0])
    if float(text) >= 1000 and i < 2:
        i += 1
        text = _fixed1(a / units[i][0])
    return sign + text + units[i][1]


def _round(value: float) -> int:
    return math.floor(value + 0.5)  # JS: Math.floor(v + 0.5)


def format_value(kind: str, value: Any) -> str:
    """``value`` in the contract's ``kind`` of format: count 1.2k, money $3.4M, rating 7.4,
    percent 83%, minutes 95 min, ratio 2.3×, decade 1990s, year 1994, text as is; null "–"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if kind == "text" or isinstance(value, str) or isinstance(value, bool):
        return str(value)
    v = float(value)
    if kind == "bin":
        return str(int(v)) if v.is_integer() else _fixed1(v)
    if kind == "count":
        return _abbreviate(v)
    if kind == "money":
        return ("-" if v < 0 else "") + "$" + _abbreviate(abs(v))
    if kind == "rating":
        return ("-" if v < 0 else "") + _fixed1(abs(v))
    if kind == "percent":
        return f"{_round(v * 100)}%"
    if kind == "minutes":
        return f"{_round(v)} min"
    if kind == "ratio":
        return ("-" if v < 0 else "") + _fixed1(abs(v)) + "×"
    if kind == "decade":
        return f"{int(v)}s"
    if kind == "year":
        return str(int(v))
    return _abbreviate(v)
