"""The report page (moviedl.stages.report.page + its assets): the HTML it renders, and what a user
sees in a real browser (headless Chromium through tests/webdriver.py): charts drawn from the
embedded data, the filters, the URL hash, sorting, the layout at 1280 and 800 px, no request
and no Content-Security-Policy violation.

The browser tests skip when chromium or chromedriver is not installed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moviedl.stages.report import page as report_page
from moviedl.stages.report.page import NO_JS_NOTE, format_value, render
from tests.report_data import (
    COMMENT_TITLE,
    MIN_GROUP,
    ONE_TITLE_GENRE,
    SCRIPT_TITLE,
    UNKNOWN,
    expected_rows,
    make_data,
    make_titles,
)
from tests.webdriver import Browser

DATA = make_data()
TITLES = make_titles()
PANELS = {p["id"]: p for p in DATA["panels"]}
FILTERED = ("Nothing here under the filters ({}): the report has data for this panel, but none that passes them. "
            "Widen or reset the filters.")
CHART_PANELS = [p for p in DATA["panels"] if p["chart"] not in ("quality", "table")]
TABLE_PANELS = [p for p in DATA["panels"] if p["chart"] == "table"]


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


# --- the HTML, without a browser ------------------------------------------------------------


def test_csp_allows_exactly_the_inline_style_and_script() -> None:
    page = render(DATA)
    policy = report_page.page_csp(page)
    assert policy is not None
    styles, scripts = report_page.inline_code(page)
    assert len(styles) == 1 and len(scripts) == 1
    assert policy == (f"default-src 'none'; img-src data:; style-src '{_sha256(styles[0])}'; "
                      f"script-src '{_sha256(scripts[0])}'")
    assert "unsafe-inline" not in page and "unsafe-eval" not in policy
    # the meta comes before anything it governs
    assert page.index("Content-Security-Policy") < page.index("<style>") < page.index("<script")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page


def test_the_page_is_offline() -> None:
    page = render(DATA)
    assert report_page.external_references(page) == []
    assert "http:" not in page and "https:" not in page  # not even a namespace
    assert not re.search(r"""(?:src|href)\s*=|url\(|@import""", page.split('<script type="application/json"')[0])
    # the checker finds what it is meant to find
    for bad in ('<img src="https://example.com/x.png">', "<a href='//cdn.example.org/x.js'>",
                "<style>body{background:url(http://x/y.png)}</style>", "<style>@import 'x.css';</style>"):
        assert report_page.external_references(page.replace("<main", bad + "<main", 1)), bad
    # a title that reads like a URL is data, not a reference
    data = copy.deepcopy(DATA)
    data["sources"]["top_voted"]["rows"][0][1] = '<img src="https://example.com/x.png">'
    assert report_page.external_references(render(data)) == []


def test_data_round_trips_and_cannot_close_its_script_element() -> None:
    page = render(DATA)
    block = page.split('<script type="application/json" id="moviedl-data">', 1)[1].split("</script>", 1)[0]
    assert "</" not in block and "<!--" not in block
    assert report_page.read_embedded_data(page) == json.loads(json.dumps(DATA))
    titles = [row[1] for row in report_page.read_embedded_data(page)["sources"]["rating_votes"]["rows"]]
    assert SCRIPT_TITLE in titles and COMMENT_TITLE in titles


def test_non_finite_numbers_become_null() -> None:
    data = copy.deepcopy(DATA)
    data["sources"]["kind_decade"]["rows"][0][-1] = float("nan")
    data["headline"]["tmdb_coverage"] = float("inf")
    out = report_page.read_embedded_data(render(data))
    assert out["sources"]["kind_decade"]["rows"][0][-1] is None and out["headline"]["tmdb_coverage"] is None


def test_without_javascript_the_cards_quality_and_a_note_are_in_the_html() -> None:
    page = render(DATA)
    assert NO_JS_NOTE == "charts need JavaScript (they are drawn in the page, offline)"
    assert page.count(NO_JS_NOTE) == 1 + len(CHART_PANELS) + len(TABLE_PANELS)
    assert '<h1>Movies and series</h1>' in page
    assert "lake <code>/srv/lakes/movies</code> · generated 2026-12-02 03:40 UTC · moviedl 0.1.0" in page
    cards = dict(re.findall(r'data-key="([^"]+)"[^>]*><b>([^<]*)</b>', page))
    head = DATA["headline"]
    assert cards == {"titles": str(head["titles"]), "movies": str(head["movies"]), "series": str(head["series"]),
                     "genres": "11", "artists": "1.2k", "tmdb_coverage": format_value("percent", head["tmdb_coverage"]),
                     "latest_date": "2026-11-29"}
    quality = page.split('id="panel-quality"', 1)[1].split("</section>", 1)[0]
    assert "2026-11-29" in quality and "3 days old" in quality
    assert '<span class="status bad">failed (exit 3)</span>' in quality and "2026-11-29 03:04 UTC" in quality
    assert "<td>movies</td><td>2026-11-29</td><td class=\"num\">4</td>" in quality
    assert "4 titles have only the “(unknown)” genre" in quality
    for panel in DATA["panels"]:
        assert f'<section id="panel-{panel["id"]}"' in page
    assert "Scope of this report" not in page
    scoped = copy.deepcopy(DATA)
    scoped["meta"]["scope"] = "genre = Drama; released ≥ 1990"
    assert "Scope of this report: genre = Drama; released ≥ 1990" in render(scoped)


def test_a_quality_panel_is_added_when_the_panels_lack_one_and_ids_are_checked() -> None:
    data = copy.deepcopy(DATA)
    data["panels"] = [p for p in data["panels"] if p["chart"] != "quality"]
    assert 'id="panel-quality"' in render(data)
    data["panels"].append(dict(data["panels"][0]))
    with pytest.raises(ValueError, match="used twice"):
        render(data)
    data["panels"][-1]["id"] = 'x" onclick="alert(1)'
    with pytest.raises(ValueError, match="panel id"):
        render(data)


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("count", 950, "950"), ("count", 1234, "1.2k"), ("count", 3_400_000, "3.4M"), ("count", 1_000_000_000, "1.0B"),
    ("count", 999_950, "1.0M"), ("count", 1250, "1.3k"), ("money", 3_400_000, "$3.4M"), ("money", -1500, "-$1.5k"),
    ("rating", 7.45, "7.5"), ("rating", 7.0, "7.0"), ("percent", 0.83, "83%"), ("percent", 0.835, "84%"),
    ("minutes", 95.4, "95 min"), ("ratio", 2.25, "2.3×"), ("decade", 1990, "1990s"), ("year", 1994, "1994"),
    ("text", "Drama", "Drama"), ("count", None, "–"),
])
def test_formats(kind: str, value: Any, expected: str) -> None:
    assert format_value(kind, value) == expected


# --- in the browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render(DATA), "utf-8")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser.start(width=1280, height=900) as b:
        yield b


def severe(entries: list[dict[str, Any]]) -> list[str]:
    return [e.get("message", "") for e in entries if e.get("level") in ("SEVERE", "ERROR", "WARNING")]


def load(browser: Browser, page: Path, fragment: str = "", width: int = 1280) -> None:
    """A fresh load of the page (not a same-document hash change), drawn; the log emptied."""
    if browser.width != width:
        browser.set_window_size(width, 900)
    browser.get("about:blank")
    browser.log()
    browser.open(page, fragment)
    browser.wait_for(lambda: browser.execute("return document.body.dataset.ready") == "1",
                     what="the report's first drawing")


def draws(browser: Browser) -> int:
    return int(browser.execute("return document.body.dataset.draws") or 0)


def redrawn(browser: Browser, before: int) -> None:
    browser.wait_for(lambda: draws(browser) > before, what="the charts to redraw")


def panel_rows(browser: Browser) -> dict[str, int]:
    got = browser.execute(
        "return Object.fromEntries([...document.querySelectorAll('main section[data-rows]')]"
        ".map(s => [s.id.slice(6), Number(s.dataset.rows)]))")
    return {k: v for k, v in got.items() if k != "quality"}


def expected(**filters: Any) -> dict[str, int]:
    return {p["id"]: expected_rows(DATA, p, **filters) for p in DATA["panels"] if p["chart"] != "quality"}


def texts(browser: Browser, css: str) -> list[str]:
    return browser.execute(f"return [...document.querySelectorAll({json.dumps(css)})].map(e => e.textContent)")


def badges(browser: Browser) -> dict[str, list[str]]:
    return browser.execute(
        "return Object.fromEntries([...document.querySelectorAll('main section.panel')]"
        ".map(s => [s.id.slice(6), [...s.querySelectorAll('.badge')].map(b => b.textContent)]))")


def artist_titles(genre: str = "") -> list[tuple[int, int]]:
    """(artist_id, titles) of the embedded v_artist_summary rows summed per artist under a genre
    filter, in the table's order (titles, then votes, descending; then artist_id)."""
    src = DATA["sources"]["top_artists"]
    ix = {c: i for i, c in enumerate(src["columns"])}
    sums: dict[int, list[int]] = {}
    for r in src["rows"]:
        if genre and genre not in r[ix["genres"]].split(", "):
            continue
        acc = sums.setdefault(r[ix["artist_id"]], [0, 0])
        acc[0] += r[ix["titles"]]
        acc[1] += r[ix["total_imdb_votes"]]
    return [(a, t) for a, (t, _) in sorted(sums.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))]


def test_page_draws_every_panel_without_errors(browser: Browser, page: Path) -> None:
    load(browser, page)
    assert severe(browser.log()) == []
    assert browser.execute("return performance.getEntriesByType('resource').length") == 0  # nothing fetched
    assert panel_rows(browser) == expected()
    for panel in CHART_PANELS:
        sid = f"#panel-{panel['id']}"
        info = browser.execute(
            "const s = document.querySelector(arguments[0]); const svg = s.querySelector('svg.chart');"
            "return svg && [svg.getAttribute('role'), svg.getAttribute('aria-label'), svg.getAttribute('viewBox'),"
            " s.querySelectorAll('svg.chart .mark').length, s.querySelectorAll('svg.chart .mark > title').length,"
            " s.querySelectorAll('.note').length]", sid)
        assert info, f"{sid} has no svg.chart"
        role, label, view_box, marks, tooltips, notes = info
        assert role == "img" and label and view_box.startswith("0 0 "), sid
        assert marks > 0 and tooltips == marks, sid
        assert notes == 0, sid
    for panel in TABLE_PANELS:
        rows = texts(browser, f"#panel-{panel['id']} table.data tbody tr")
        assert len(rows) == min(panel["limit"], expected()[panel["id"]]), panel["id"]
    assert texts(browser, "#panel-quality dt") == ["Freshness", "Last run", "Quarantined rows", "Unknown genre"]
    # JavaScript took the no-JS notes away
    assert NO_JS_NOTE not in browser.execute("return document.body.innerText")
    # no badge without a filter
    assert all(b == [] for b in badges(browser).values())


def test_marks_and_axes_use_the_contract_formats(browser: Browser, page: Path) -> None:
    load(browser, page)
    heat_x = texts(browser, "#panel-genre-decade text.tick")
    assert "1920s" in heat_x and "2020s" in heat_x
    money_ticks = [t for t in texts(browser, "#panel-budget-revenue text.tick") if t]
    assert money_ticks and all(t.startswith("$") for t in money_ticks), money_ticks
    assert all(re.fullmatch(r"\$\d+(\.\d)?[kMB]?", t) for t in money_ticks), money_ticks
    ratio_ends = texts(browser, "#panel-budget-genre text.value")
    # a ratio always says how many titles it is of, and that the money is their total budget
    assert ratio_ends and all(re.fullmatch(r"\d+\.\d× · budget \$\d+(\.\d)?[kMB]? · \d+ titles", t)
                              for t in ratio_ends), ratio_ends
    genre_ends = texts(browser, "#panel-genres text.value")
    assert all(re.fullmatch(r"\d+(\.\d[kM])? · avg \d\.\d", t) for t in genre_ends), genre_ends
    coverage_ticks = texts(browser, "#panel-coverage text.tick")
    assert "0%" in coverage_ticks and "100%" in coverage_ticks
    ratings_x = texts(browser, "#panel-ratings text.tick")
    assert "3.0" in ratings_x and "9.0" in ratings_x
    # the scatter's tooltips name the title, escaped text intact
    tips = texts(browser, "#panel-rating-votes circle.mark > title")
    assert any(t.startswith(SCRIPT_TITLE + ": IMDb votes 120, IMDb rating 6.1") for t in tips)
    assert any(t.startswith(COMMENT_TITLE + ": ") for t in tips)
    # rows without a rating are not drawn, and the panel says so
    rows = DATA["sources"]["rating_votes"]["rows"]
    drawn = sum(r[6] is not None for r in rows)
    assert drawn < len(rows)
    assert texts(browser, "#panel-rating-votes .foot") == [
        f"{drawn} of {len(rows)} titles shown ({len(rows) - drawn} without both IMDb votes and IMDb rating "
        "above 0 (log scale))"]
    # the heatmap has a colour scale
    assert browser.execute("return !!document.querySelector('#panel-genre-decade linearGradient stop')")
    heat_tips = texts(browser, "#panel-genre-decade rect.mark > title")
    assert any(re.fullmatch(r"Drama · 1990s: \d+ titles", t) for t in heat_tips)


def test_javascript_and_python_format_numbers_alike(browser: Browser, page: Path) -> None:
    load(browser, page)
    cases = [(kind, value) for kind in ("count", "money", "rating", "percent", "minutes", "ratio", "bin")
             for value in (0, 7, 0.05, 0.125, 0.835, 2.25, 7.45, 950, 999.96, 1250, 12_345, 999_950, 3_449_999.5,
                           1e9, -1500, None)]
    got = browser.execute("return arguments[0].map(([k, v]) => window.moviedlReport.format(k, v))",
                          [list(c) for c in cases])
    assert got == [format_value(k, v) for k, v in cases]


def test_selecting_a_genre_redraws_the_charts(browser: Browser, page: Path) -> None:
    load(browser, page)
    browser.execute("window.violations = [];"
                    "document.addEventListener('securitypolicyviolation', e => violations.push(e.violatedDirective))")
    before_decades = texts(browser, "#panel-decades rect.mark > title")
    before_genres = texts(browser, "#panel-genres text.label")
    assert len(before_genres) == len(DATA["filters"]["genres"])
    n = draws(browser)
    browser.find("#filter-genre").select("Drama")
    redrawn(browser, n)

    assert browser.url.endswith("#genre=Drama")
    assert panel_rows(browser) == expected(genre="Drama")
    assert panel_rows(browser) != expected()
    assert texts(browser, "#panel-genres text.label") == ["Drama"]
    assert [t.split(" · ")[0] for t in texts(browser, "#panel-genre-decade text:not(.tick):not(.axis-title)")
            if not t[:1].isdigit()] == ["Drama"]
    after_decades = texts(browser, "#panel-decades rect.mark > title")
    assert after_decades != before_decades and len(after_decades) <= len(before_decades)
    assert sum(int(t.split(": ")[1].split()[0]) for t in after_decades) == expected(genre="Drama")["decades"]
    # every view has the grain the genre filter needs: no panel shows every genre under a badge
    assert all(b == [] for b in badges(browser).values()), badges(browser)
    ratings = texts(browser, "#panel-ratings rect.mark > title")
    drama_rated = sum(t["imdb_rating"] is not None and "Drama" in t["genres"].split(", ") for t in TITLES)
    assert sum(int(t.split(": ")[1].split()[0]) for t in ratings) == drama_rated
    # the artist tables count only the Drama titles of each artist
    artists = texts(browser, "#panel-artists td[data-field=titles]")
    assert [int(a) for a in artists] == [n for _, n in artist_titles(genre="Drama")][:len(artists)]
    # every title in the filtered table has the genre
    genres = texts(browser, "#panel-top-voted td[data-field=genres]")
    assert genres and all("Drama" in g.split(", ") for g in genres)
    assert browser.execute("return window.violations") == []
    assert severe(browser.log()) == []

    # back to all genres: the hash empties, the charts come back
    n = draws(browser)
    browser.find("#filter-genre").select("All")
    redrawn(browser, n)
    assert "#" not in browser.url
    assert panel_rows(browser) == expected()
    assert texts(browser, "#panel-genres text.label") == before_genres


def test_other_filters_badges_and_empty_notes(browser: Browser, page: Path) -> None:
    load(browser, page)
    n = draws(browser)
    browser.find("#filter-votes").select("≥ 10.0k")
    redrawn(browser, n)
    assert browser.url.endswith("#votes=10000")
    assert panel_rows(browser) == expected(votes=10000)
    assert all(b == [] for b in badges(browser).values()), badges(browser)

    n = draws(browser)
    browser.find("#filter-kind").select("series")
    redrawn(browser, n)
    assert browser.url.endswith("#kind=series&votes=10000")
    assert panel_rows(browser) == expected(kind="series", votes=10000)
    # no series has a budget: the filters emptied the panel, and it says so (not "run ingest-tmdb")
    assert expected(kind="series", votes=10000)["budget-revenue"] == 0
    for panel in ("budget-revenue", "budget-genre", "budget-year"):
        assert texts(browser, f"#panel-{panel} .note") == [FILTERED.format("series · ≥ 10.0k votes")], panel
        assert browser.execute(f"return document.querySelector('#panel-{panel} svg')") is None

    n = draws(browser)
    browser.find("#filter-reset").click()
    redrawn(browser, n)
    assert "#" not in browser.url and panel_rows(browser) == expected()


def test_unknown_genre_is_a_choice(browser: Browser, page: Path) -> None:
    load(browser, page)
    options = texts(browser, "#filter-genre option")
    assert options == ["All", *DATA["filters"]["genres"], UNKNOWN]
    n = draws(browser)
    browser.find("#filter-genre").select(UNKNOWN)
    redrawn(browser, n)
    assert panel_rows(browser) == expected(genre=UNKNOWN)
    # the heatmap excludes "(unknown)": nothing is left under this filter, and it says so
    assert texts(browser, "#panel-genre-decade .note") == [FILTERED.format(UNKNOWN)]


def test_opening_the_page_with_a_hash_applies_it(browser: Browser, page: Path) -> None:
    load(browser, page, "genre=Comedy&decade=1990&kind=movie")
    assert browser.execute("return ['genre', 'decade', 'kind', 'votes']"
                           ".map(k => document.getElementById('filter-' + k).value)") == ["Comedy", "1990", "movie", "0"]
    assert panel_rows(browser) == expected(genre="Comedy", decade=1990, kind="movie")
    assert severe(browser.log()) == []
    # a hash change (back button, edited URL) redraws too; nonsense values are ignored
    n = draws(browser)
    browser.execute("location.hash = 'kind=series&genre=NoSuchGenre'")
    redrawn(browser, n)
    assert browser.execute("return document.getElementById('filter-kind').value") == "series"
    assert browser.execute("return document.getElementById('filter-genre').value") == ""
    assert panel_rows(browser) == expected(kind="series")


def test_clicking_a_table_header_sorts_the_table(browser: Browser, page: Path) -> None:
    load(browser, page)
    table = "#panel-top-voted"
    src = DATA["sources"]["top_voted"]
    top20 = sorted(src["rows"], key=lambda r: -r[7])[:20]
    assert texts(browser, f"{table} td[data-field=title]") == [r[1] for r in top20]
    assert texts(browser, f"{table} th.sorted") == ["votes▼"]

    browser.find(f"{table} th[data-field=title]").click()
    titles = texts(browser, f"{table} td[data-field=title]")
    assert titles == sorted((r[1] for r in top20), key=str.casefold)
    assert texts(browser, f"{table} th.sorted") == ["title▲"]
    assert browser.find(f"{table} th[data-field=title]").attribute("aria-sort") == "ascending"

    browser.find(f"{table} th[data-field=title]").click()
    assert texts(browser, f"{table} td[data-field=title]") == titles[::-1]
    assert texts(browser, f"{table} th.sorted") == ["title▼"]

    browser.find(f"{table} th[data-field=release_year]").click()  # numbers: largest first
    years = [int(y) for y in texts(browser, f"{table} td[data-field=release_year]")]
    assert years == sorted((r[3] for r in top20), reverse=True)
    # numbers are formatted and right-aligned
    votes = texts(browser, f"{table} td[data-field=imdb_votes]")
    assert all(re.fullmatch(r"\d+(\.\d[kM])?", v) for v in votes)
    assert browser.execute(f"return getComputedStyle(document.querySelector('{table} td[data-field=imdb_votes]'))"
                           ".textAlign") == "right"


def test_a_report_without_rows_shows_each_panels_note(browser: Browser, tmp_path: Path) -> None:
    data = copy.deepcopy(DATA)
    for src in data["sources"].values():
        src["rows"] = []
    del data["sources"]["cast_gender"]
    data["panels"].append({"id": "odd", "title": "Odd", "subtitle": "", "chart": "sparkline", "source": "kind_decade"})
    empty = tmp_path / "empty.html"
    empty.write_text(render(data), "utf-8")
    load(browser, empty)
    assert severe(browser.log()) == []
    notes = browser.execute(
        "return Object.fromEntries([...document.querySelectorAll('main section.panel:not(.quality)')]"
        ".map(s => [s.id.slice(6), [s.dataset.rows, s.querySelector('.note').textContent, !!s.querySelector('svg')]]))")
    for panel in data["panels"]:
        if panel["chart"] == "quality":
            continue
        rows, text, has_svg = notes[panel["id"]]
        assert rows == "0" and not has_svg, panel["id"]
        if panel["id"] == "cast-gender":
            assert text == 'No data source "cast_gender" in this report.'
        elif panel["id"] == "odd":
            assert text == 'Unknown chart type "sparkline".'
        else:
            assert text == panel["empty"], panel["id"]


def test_resizing_the_window_redraws_to_the_new_width(browser: Browser, page: Path) -> None:
    load(browser, page, width=1280)
    wide = browser.execute("return document.querySelector('#panel-genres svg').getAttribute('viewBox')")
    n = draws(browser)
    browser.set_window_size(800, 900)
    redrawn(browser, n)
    narrow = browser.execute("return document.querySelector('#panel-genres svg').getAttribute('viewBox')")
    assert float(narrow.split()[2]) > float(wide.split()[2])  # one column: a wider panel
    assert browser.execute(LAYOUT)["bad"] == []


LAYOUT = """
const bad = [];
const root = document.documentElement;
if (root.scrollWidth > root.clientWidth) bad.push('the page scrolls sideways: ' + root.scrollWidth);
const inside = (r, o) => r.left >= o.left - 0.5 && r.right <= o.right + 0.5 && r.top >= o.top - 0.5 && r.bottom <= o.bottom + 0.5;
const what = (n) => n.tagName + ' "' + (n.textContent || '').slice(0, 30) + '"';
for (const sec of document.querySelectorAll('main section.panel')) {
  const box = sec.getBoundingClientRect();
  for (const n of sec.querySelectorAll('svg.chart, table, .note, h2, .subtitle, .badge, dl')) {
    const r = n.getBoundingClientRect();
    if (r.width && !inside(r, box)) bad.push(sec.id + ': ' + what(n) + ' leaves its panel');
  }
  for (const svg of sec.querySelectorAll('svg.chart')) {
    const s = svg.getBoundingClientRect();
    const boxes = [...svg.querySelectorAll('text')].map(t => [t, t.getBoundingClientRect()]).filter(([, r]) => r.width);
    for (const [t, r] of boxes) if (!inside(r, s)) bad.push(sec.id + ': ' + what(t) + ' is clipped');
    for (const [t] of boxes) if ((t.firstChild.nodeValue || '').endsWith('\u2026')) bad.push(sec.id + ': ' + what(t) + ' is cut short');
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 0.5 && h > 0.5) bad.push(sec.id + ': ' + what(a) + ' overlaps ' + what(b));
    }
  }
}
const lefts = new Set([...document.querySelectorAll('main section.panel')].map(s => Math.round(s.getBoundingClientRect().left)));
return {bad, columns: lefts.size, width: innerWidth};
"""


@pytest.mark.parametrize(("width", "columns"), [(1280, 2), (800, 1)])
def test_layout_fits_the_window(browser: Browser, page: Path, width: int, columns: int) -> None:
    load(browser, page, width=width)
    got = browser.execute(LAYOUT)
    assert got["width"] == width
    assert got["bad"] == []
    assert got["columns"] == columns
    # filtered views too (fewer, other labels)
    n = draws(browser)
    browser.find("#filter-decade").select("1950s")
    redrawn(browser, n)
    assert browser.execute(LAYOUT)["bad"] == []


def test_a_script_that_does_not_match_its_hash_is_refused(browser: Browser, page: Path, tmp_path: Path) -> None:
    """The CSP is enforced (so the checks above can fail), and the page without its script
    still shows the cards, the quality panel and the note where the charts would be."""
    tampered = tmp_path / "tampered.html"
    html = page.read_text("utf-8")
    script = report_page.inline_code(html)[1][0]
    tampered.write_text(html.replace(script, script.replace('"use strict";', '"use strict"; ', 1)), "utf-8")
    browser.get("about:blank")
    browser.log()
    browser.open(tampered)
    assert browser.execute("return document.body.dataset.ready") is None
    assert any("Content Security Policy" in m for m in severe(browser.log()))
    shown = browser.execute(
        "return [...document.querySelectorAll('.card, #panel-quality dl, .nojs')]"
        ".filter(e => e.getBoundingClientRect().height > 0).map(e => e.tagName === 'DL' ? 'DL' : e.className)")
    assert shown.count("card") == 7 and "DL" in shown
    assert shown.count("note nojs") == 1 + len(CHART_PANELS) + len(TABLE_PANELS)


# --- small groups, empty panels, time axes, CSV, print ------------------------------------------


def cdp(browser: Browser, cmd: str, **params: Any) -> Any:
    """A Chrome DevTools command through chromedriver (downloads, print media)."""
    return browser._call("POST", "goog/cdp/execute", {"cmd": cmd, "params": params})


def test_a_one_title_genre_is_too_few_to_compare(browser: Browser, page: Path) -> None:
    load(browser, page)
    # ROI: the one-title genre is no bar; it is listed apart with its count
    labels = texts(browser, "#panel-budget-genre text.label")
    assert labels and ONE_TITLE_GENRE not in labels
    assert texts(browser, "#panel-budget-genre .foot") == [
        f"Too few to compare (fewer than {MIN_GROUP} titles): {ONE_TITLE_GENRE} (1)."]
    # titles per genre: its bar is grey and its tooltip says why
    few = texts(browser, "#panel-genres rect.mark.few > title")
    assert few == [f"{ONE_TITLE_GENRE}: 1 title · avg 6.6 (fewer than {MIN_GROUP}: too few to compare)"]
    # coverage: every bar names its n; bars of fewer titles than the minimum are pale
    tips = texts(browser, "#panel-coverage rect.mark > title")
    assert tips and all(re.search(r" \(n = \d+ titles?(: too few to compare)?\)$", t) for t in tips), tips
    pale = texts(browser, "#panel-coverage rect.mark.few > title")
    assert pale and all(t.endswith(": too few to compare)") for t in pale)
    assert "1890s · movie: share of titles with TMDB 100% (n = 1 title: too few to compare)" in pale

    # under its own genre the ROI panel has nothing it may compare, and says so with the count
    load(browser, page, f"genre={ONE_TITLE_GENRE}")
    assert texts(browser, "#panel-budget-genre .note") == [
        f"Too few to compare (fewer than {MIN_GROUP} titles): {ONE_TITLE_GENRE} (1)."]
    assert browser.execute("return document.querySelector('#panel-budget-genre svg')") is None
    assert severe(browser.log()) == []


def test_cast_gender_shares_of_few_credits_are_listed_apart(browser: Browser, page: Path) -> None:
    src = DATA["sources"]["cast_gender"]

    def credits_per_genre(decade: int) -> dict[str, int]:
        totals: dict[str, int] = {}
        for genre, kind, dec, _band, _gender, credits in src["rows"]:
            if dec == decade and kind == "series" and genre != UNKNOWN:
                totals[genre] = totals.get(genre, 0) + credits
        return totals

    # a decade where some genres have enough series credits to compare and some do not
    decade = next(d for d in DATA["filters"]["decades"]
                  if len({n >= MIN_GROUP for n in credits_per_genre(d).values()}) == 2)
    totals = credits_per_genre(decade)
    load(browser, page, f"decade={decade}&kind=series")
    few = sorted((g for g, n in totals.items() if n < MIN_GROUP), key=lambda g: (-totals[g], g))
    drawn = sorted((g for g, n in totals.items() if n >= MIN_GROUP), key=lambda g: (-totals[g], g))
    ns = texts(browser, "#panel-cast-gender text.n")
    assert ns == [str(totals[g]) for g in drawn]
    foot = texts(browser, "#panel-cast-gender .foot")[0]
    assert f"Too few to compare (fewer than {MIN_GROUP} credits): " in foot
    assert all(f"{g} ({totals[g]})" in foot for g in few)


def test_an_empty_panel_says_whether_the_filters_or_the_lake_emptied_it(browser: Browser, tmp_path: Path) -> None:
    # a lake without TMDB data: the hint to run ingest-tmdb, with or without filters
    data = copy.deepcopy(DATA)
    for name in ("budget_by_genre", "budget_by_year", "budget_revenue"):
        data["sources"][name]["rows"] = []
    cov = data["sources"]["tmdb_coverage"]
    for row in cov["rows"]:
        row[cov["columns"].index("with_tmdb")] = 0
    no_tmdb = tmp_path / "no-tmdb.html"
    no_tmdb.write_text(render(data), "utf-8")
    for fragment in ("", "genre=Comedy&kind=movie&votes=1000"):
        load(browser, no_tmdb, fragment)
        for panel in ("budget-genre", "budget-year", "budget-revenue", "coverage"):
            assert texts(browser, f"#panel-{panel} .note") == [PANELS[panel]["empty"]], (panel, fragment)
            assert "run moviedl ingest-tmdb" in PANELS[panel]["empty"]
            assert browser.execute(f"return document.querySelector('#panel-{panel} svg')") is None

    # the lake has TMDB data: the same filters show what it holds, and a filter that empties a
    # panel says so
    full = tmp_path / "full.html"
    full.write_text(render(DATA), "utf-8")
    load(browser, full, "genre=Comedy&kind=movie&votes=1000")
    assert expected(genre="Comedy", kind="movie", votes=1000)["budget-genre"] > 0
    for panel in ("budget-genre", "budget-year", "budget-revenue", "coverage"):
        shown = texts(browser, f"#panel-{panel} .note") + texts(browser, f"#panel-{panel} .foot")
        assert not any("ingest-tmdb" in t for t in shown), (panel, shown)
    assert browser.execute("return !!document.querySelector('#panel-budget-year svg')")
    load(browser, full, "genre=Documentary&decade=1920&kind=series")
    assert expected(genre="Documentary", decade=1920, kind="series")["budget-genre"] == 0
    note = texts(browser, "#panel-budget-genre .note")
    assert note == [FILTERED.format("Documentary · 1920s · series")] and "ingest-tmdb" not in note[0]


def test_time_axes_show_every_decade_and_counts_are_whole(browser: Browser, page: Path) -> None:
    decades = [f"{d}s" for d in range(1890, 2030, 10)]
    assert 1900 not in DATA["filters"]["decades"] and 1910 not in DATA["filters"]["decades"]  # the gap
    load(browser, page, width=1280)
    heat = texts(browser, "#panel-genre-decade text.tick")
    assert heat[:len(decades)] == decades  # 1890s, 1900s and 1910s side by side, none skipped
    empty = texts(browser, "#panel-genre-decade rect.empty-cell > title")
    assert "Drama · 1900s: none" in empty
    # the colour legend of a count reads in whole titles
    legend = heat[len(decades):]
    assert len(legend) == 3 and all(re.fullmatch(r"\d+", t) for t in legend), legend
    # the decade chart beside it: the same continuous axis, every decade labelled at 1280 px
    for panel in ("kinds", "coverage", "decades"):
        assert texts(browser, f"#panel-{panel} text.tick")[-len(decades):] == decades, panel
    # budget and revenue by year: two lines, a dot per year with data
    assert browser.execute("return document.querySelectorAll('#panel-budget-year polyline').length") == 2
    dots = texts(browser, "#panel-budget-year circle.mark > title")
    assert dots and all(re.fullmatch(r"\d{4}: (budget|revenue) \$[\d.]+[kMB]? \(\d+ titles?\)", t) for t in dots), dots
    assert browser.execute(LAYOUT)["bad"] == []


def test_csv_download_is_exactly_what_the_panel_draws(browser: Browser, page: Path, tmp_path: Path) -> None:
    import csv as csvlib
    import time

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    load(browser, page, "genre=Drama&votes=1000")
    cdp(browser, "Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
    browser.execute("window.violations = [];"
                    "document.addEventListener('securitypolicyviolation', e => violations.push(e.violatedDirective))")

    def download(panel: str, name: str) -> list[list[str]]:
        # clear of the sticky filter bar, then a real click
        browser.execute(f"document.querySelector('#panel-{panel} button.csv').scrollIntoView({{block: 'center'}})")
        browser.find(f"#panel-{panel} button.csv").click()
        path = downloads / name
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.exists(), sorted(p.name for p in downloads.iterdir())
        with path.open(newline="", encoding="utf-8") as f:
            return list(csvlib.reader(f))

    # the rating distribution: bins and titles of the view's rows under the same filters
    rows = download("ratings", "ratings_Drama_1000-votes.csv")
    src = DATA["sources"]["rating_distribution"]
    ix = {c: i for i, c in enumerate(src["columns"])}
    want: dict[float, int] = {}
    for r in src["rows"]:
        if "Drama" in r[ix["genres"]].split(", ") and r[ix["votes_band"]] >= 1000:
            want[r[ix["rating_bin"]]] = want.get(r[ix["rating_bin"]], 0) + r[ix["titles"]]
    assert rows[0] == ["rating_bin", "titles"]
    assert {float(b): int(n) for b, n in rows[1:]} == want
    drawn = texts(browser, "#panel-ratings rect.mark > title")
    assert len(drawn) == len(rows) - 1

    # a table: the rows it shows, in its order, raw values
    rows = download("top-voted", "top-voted_Drama_1000-votes.csv")
    assert rows[0] == ["title", "title_type", "release_year", "genres", "imdb_rating", "imdb_votes"]
    assert [r[0] for r in rows[1:]] == texts(browser, "#panel-top-voted td[data-field=title]")
    assert all(int(r[5]) >= 1000 and "Drama" in r[3].split(", ") for r in rows[1:])

    # ROI: the ratio, the total budget and n of every group, those too few to compare marked
    load(browser, page)
    cdp(browser, "Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
    rows = download("budget-genre", "budget-genre.csv")
    assert rows[0] == ["genre", "roi", "budget", "titles", "too_few_to_compare"]
    western = next(r for r in rows if r[0] == ONE_TITLE_GENRE)
    assert western[1:] == ["131.7", "1000000", "1", "true"]
    assert browser.execute("return window.violations || []") == []
    assert severe(browser.log()) == []


def test_the_dashboard_prints_on_a4_in_one_legible_column(browser: Browser, page: Path) -> None:
    load(browser, page, width=703)  # A4 less the page's 12 mm margins, at 96 px per inch
    n = draws(browser)
    cdp(browser, "Emulation.setEmulatedMedia", media="print")
    try:
        redrawn(browser, n)  # the charts are redrawn for the printed width
        got = browser.execute("""
            const visible = (e) => e.getClientRects().length > 0;
            const svgs = [...document.querySelectorAll('svg.chart')].map(s =>
                s.getBoundingClientRect().width / s.viewBox.baseVal.width);
            const lefts = new Set([...document.querySelectorAll('main section.panel')]
                .map(s => Math.round(s.getBoundingClientRect().left)));
            return {columns: lefts.size, scale: [Math.min(...svgs), Math.max(...svgs)],
                    controls: [...document.querySelectorAll('#filters select, button.csv')].filter(visible).length,
                    summary: document.querySelector('#filters .summary').textContent};""")
        assert got["columns"] == 1 and got["controls"] == 0
        assert got["summary"].startswith("Charts show all titles")  # what the print covers
        low, high = got["scale"]
        assert 0.9 <= low and high <= 1.1, got["scale"]  # chart text prints at its size (11-12 px)
    finally:
        cdp(browser, "Emulation.setEmulatedMedia", media="")
    pdf = base64.b64decode(browser._call("POST", "print", {"page": {"width": 21.0, "height": 29.7},
                                                           "background": True}))
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert boxes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes), boxes[:3]
    assert 3 <= len(boxes) <= 12, len(boxes)
