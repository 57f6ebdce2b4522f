"""``moviedl report``: the dashboard's data comes from the analysis views athena-ddl emits.

What the page draws is tested in a real browser (tests/test_report_page.py, tests/test_report_browser.py);
here: the rows embedded in the page, the headline, the scope flags, the errors.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from moviedl.stages.report.report import ARTIST_MIN_RATED_TITLES, MIN_VOTES_CHOICES, SOURCES

DATE = ("--date", "2024-05-01")


def report_data(html: str) -> dict[str, Any]:
    """The data embedded in the page (the JSON block the page's script draws from)."""
    match = re.search(r'<script type="application/json" id="moviedl-data">(.*?)</script>', html, re.S)
    assert match, "no data block in the page"
    return json.loads(match.group(1).replace("<\\/", "</"))


def make_report(invoke, lake: Path | str, out: Path, *flags: object) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``moviedl report``; its JSON summary and the data embedded in the page."""
    result = invoke("report", "--lake", lake, "-o", out, "--format", "json", *flags)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), report_data(out.read_text("utf-8"))


def refined(lake: Path, table: str) -> str:
    return f"read_parquet('{lake}/Refined/{table}/*.parquet')"


def expected_headline(lake: Path) -> dict[str, int]:
    """Headline figures computed straight from the Refined Parquet, independent of the report."""
    con = duckdb.connect()
    films = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE title_type = 'movie'), "
        f"count(*) FILTER (WHERE title_type = 'series') FROM {refined(lake, 'DimFilmes')}"
    ).fetchone()
    (genres,) = con.execute(
        f"SELECT count(DISTINCT g.genre) FROM {refined(lake, 'FatoFilme')} JOIN {refined(lake, 'DimGenero')} g "
        "USING (genre_id) WHERE g.genre <> '(unknown)'").fetchone()
    (artists,) = con.execute(f"SELECT count(DISTINCT artist_id) FROM {refined(lake, 'FatoElenco')}").fetchone()
    return {"titles": films[0], "movies": films[1], "series": films[2], "genres": genres, "artists": artists}


def views_over(invoke, lake: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection holding the views exactly as `athena-ddl --dialect duckdb` prints them."""
    result = invoke("athena-ddl", "--lake", lake, "--dialect", "duckdb")
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    con.execute(result.stdout)
    return con


def test_sample_report_has_the_headline_figures_and_every_panel(invoke, sample_lake: Path, tmp_path: Path) -> None:
    summary, data = make_report(invoke, sample_lake, tmp_path / "report.html")
    expected = expected_headline(sample_lake)
    assert (expected["movies"], expected["series"]) == (70, 29)  # see moviedl/samples
    for key in ("titles", "movies", "series", "genres", "artists"):
        assert data["headline"][key] == expected[key], key
    assert data["headline"]["tmdb_coverage"] == 0  # no TMDB data in this lake
    assert data["headline"]["latest_date"] == "2024-05-01"

    panels = {row["panel"]: row for row in summary["rows"]}
    assert len(panels) == len(data["panels"]) == 17
    assert panels["Genre popularity by decade"] == {
        "panel": "Genre popularity by decade", "shows": "heatmap", "from_view": "v_genre_decade",
        "data_rows": len(data["sources"]["genre_decade"]["rows"])}
    # Without TMDB there is no budget: the panel's note says where it comes from.
    assert panels["Return on investment by genre"]["data_rows"] == 0
    budget = next(p for p in data["panels"] if p["id"] == "budget-genre")
    assert "run moviedl ingest-tmdb" in budget["empty"]
    titles = [row[1] for row in data["sources"]["top_voted"]["rows"]]
    assert "Batman: O Cavaleiro das Trevas" in titles
    assert summary["counts"]["titles"] == 99 and summary["counts"]["panels"] == 17


def test_every_panel_reads_its_view_as_athena_ddl_emits_it(invoke, sample_lake: Path, tmp_path: Path) -> None:
    _, data = make_report(invoke, sample_lake, tmp_path / "report.html")
    con = views_over(invoke, sample_lake)
    for source in SOURCES:
        embedded = data["sources"][source.name]
        cursor = con.execute(f"SELECT * FROM {source.view}")
        view_columns = [d[0] for d in cursor.description]
        view_rows = cursor.fetchall()
        assert set(embedded["columns"]) - {"ranking"} <= set(view_columns), source.name
        if source.script is None:  # a whole view: exactly its rows
            assert embedded["columns"] == view_columns, source.name
            assert sorted(map(tuple, embedded["rows"]), key=repr) == sorted(view_rows, key=repr), source.name
        else:  # a selection: every row is a row of the view, projected
            project = [view_columns.index(c) for c in embedded["columns"] if c != "ranking"]
            known = {tuple(r[i] for i in project) for r in view_rows}
            for row in embedded["rows"]:
                assert tuple(v for c, v in zip(embedded["columns"], row, strict=True) if c != "ranking") in known


def test_the_unknown_genre_is_counted_apart(invoke, sample_lake: Path, tmp_path: Path) -> None:
    _, data = make_report(invoke, sample_lake, tmp_path / "report.html")
    assert "(unknown)" not in data["filters"]["genres"]
    (unknown,) = duckdb.connect().execute(
        f"SELECT count(DISTINCT ff.film_id) FROM {refined(sample_lake, 'FatoFilme')} ff "
        f"JOIN {refined(sample_lake, 'DimGenero')} g USING (genre_id) WHERE g.genre = '(unknown)'").fetchone()
    assert data["quality"]["unknown_genre_titles"] == unknown == 2
    for panel in data["panels"]:
        if panel.get("x") == "genre" or panel.get("y") == "genre":
            assert panel["exclude"] == {"genre": ["(unknown)"]}, panel["id"]


# --- the top-N tables stay exact under any filter of the page ------------------------------------


def _page_filter(columns: list[str], rows: list[list[Any]], genre: str | None, decade: int | None,
                 kind: str | None, votes: int) -> list[dict[str, Any]]:
    """The page's filter rule (docs/report.md): genre in the title's genres, decade, type, votes."""
    found = []
    for row in rows:
        r = dict(zip(columns, row, strict=True))
        if genre and genre not in (r["genres"] or "").split(", "):
            continue
        if (decade and r["decade"] != decade) or (kind and r["title_type"] != kind) or (r["imdb_votes"] or 0) < votes:
            continue
        found.append(r)
    return found


@pytest.fixture(scope="module")
def generated_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 movie and 300 series titles of random genres, years and votes (dirty rows included)."""
    from tests.conftest import no_settings, run_commands
    from tests.dirty_data import write_file

    root = tmp_path_factory.mktemp("generated")
    movies = write_file(root / "movies.csv", series=False, seed=11, titles=600, dirty=0.005)
    series = write_file(root / "series.csv", series=True, seed=12, titles=300, dirty=0.005)
    with no_settings():
        run_commands(root / "lake", ["ingest-csv", str(movies), str(series), *DATE], ["refine", *DATE])
    return root / "lake"


def test_top_tables_are_exact_under_every_filter(invoke, generated_lake: Path, tmp_path: Path) -> None:
    top = 3  # small, so that most filter cells hold more titles than the table shows
    _, data = make_report(invoke, generated_lake, tmp_path / "report.html", "--top", top)
    con = views_over(invoke, generated_lake)
    every = {}
    for view, order in (("v_title_facts", "imdb_votes DESC, film_id"), ("v_top_rated", "rating_rank")):
        cursor = con.execute(f"SELECT * FROM {view} WHERE imdb_votes IS NOT NULL ORDER BY {order}")
        every[view] = ([d[0] for d in cursor.description], [list(r) for r in cursor.fetchall()])
    candidates = {name: data["sources"][name] for name in ("top_voted", "top_rated")}
    assert len(candidates["top_voted"]["rows"]) < len(every["v_title_facts"][1])  # a real selection

    filters = data["filters"]
    checked = 0
    for genre in [None, *filters["genres"], "(unknown)"]:
        for decade in [None, *filters["decades"]]:
            for kind in [None, "movie", "series"]:
                for votes in MIN_VOTES_CHOICES:
                    for source, view, key in (("top_voted", "v_title_facts", lambda r: (-r["imdb_votes"], r["film_id"])),
                                              ("top_rated", "v_top_rated", lambda r: r["rating_rank"])):
                        want = _page_filter(*every[view], genre, decade, kind, votes)[:top]
                        got = sorted(_page_filter(candidates[source]["columns"], candidates[source]["rows"],
                                                  genre, decade, kind, votes), key=key)[:top]
                        assert [r["film_id"] for r in got] == [r["film_id"] for r in want], (source, genre, decade, kind, votes)
                        checked += bool(want)
    assert checked > 1000


def _artist_top(columns: list[str], rows: list[list[Any]], genre: str | None, decade: int | None,
                kind: str | None, votes: int, top: int) -> tuple[list[int], list[int]]:
    """The page's rule for the artist tables: an artist's rows that pass the filters, summed; the
    top by titles, and by average rating among those with at least 3 rated titles."""
    sums: dict[int, list[float]] = {}
    for row in rows:
        r = dict(zip(columns, row, strict=True))
        if genre and genre not in (r["genres"] or "").split(", "):
            continue
        if (decade and r["decade"] != decade) or (kind and r["title_type"] != kind) or r["votes_band"] < votes:
            continue
        acc = sums.setdefault(r["artist_id"], [0, 0, 0.0, 0])
        acc[0] += r["titles"]
        acc[1] += r["rated_titles"]
        acc[2] += (r["avg_imdb_rating"] or 0) * r["rated_titles"]
        acc[3] += r["total_imdb_votes"] or 0
    by_titles = sorted(sums, key=lambda a: (-sums[a][0], -sums[a][3], a))[:top]
    rated = [a for a in sums if sums[a][1] >= ARTIST_MIN_RATED_TITLES]
    by_rating = sorted(rated, key=lambda a: (-sums[a][2] / sums[a][1], -sums[a][1], a))[:top]
    return by_titles, by_rating


def test_artist_tables_are_exact_under_every_filter(invoke, generated_lake: Path, tmp_path: Path) -> None:
    top = 3
    _, data = make_report(invoke, generated_lake, tmp_path / "report.html", "--top", top)
    embedded = data["sources"]["top_artists"]
    cursor = views_over(invoke, generated_lake).execute(
        f"SELECT {', '.join(embedded['columns'])} FROM v_artist_summary "
        "ORDER BY artist_id, genres, decade, title_type, votes_band")
    every = [list(r) for r in cursor.fetchall()]
    assert len(embedded["rows"]) < len(every)  # a real selection
    filters = data["filters"]
    checked = 0
    for genre in [None, *filters["genres"]]:
        for decade in [None, *filters["decades"][::3]]:
            for kind in [None, "movie", "series"]:
                for votes in MIN_VOTES_CHOICES:
                    want = _artist_top(embedded["columns"], every, genre, decade, kind, votes, top)
                    got = _artist_top(embedded["columns"], embedded["rows"], genre, decade, kind, votes, top)
                    assert got == want, (genre, decade, kind, votes)
                    checked += bool(want[0])
    assert checked > 100


# --- scope flags, errors ---------------------------------------------------------------------------


def test_scope_flags_narrow_every_view_and_are_shown(invoke, sample_lake: Path, tmp_path: Path) -> None:
    _, data = make_report(invoke, sample_lake, tmp_path / "drama.html", "--genre", "drama",
                          "--year-from", "1990", "--year-to", "1999")
    assert data["meta"]["scope"] == "genre = drama; released ≥ 1990; released ≤ 1999"
    (expected,) = duckdb.connect().execute(
        f"""SELECT count(DISTINCT f.film_id) FROM {refined(sample_lake, 'DimFilmes')} f
            JOIN {refined(sample_lake, 'FatoFilme')} ff USING (film_id)
            JOIN {refined(sample_lake, 'DimGenero')} g USING (genre_id)
            WHERE g.genre = 'Drama' AND f.release_year BETWEEN 1990 AND 1999""").fetchone()
    assert 0 < expected < expected_headline(sample_lake)["titles"]
    assert data["headline"]["titles"] == expected
    kinds = data["sources"]["kind_decade"]
    titles, decade = kinds["columns"].index("titles"), kinds["columns"].index("decade")
    assert sum(row[titles] for row in kinds["rows"]) == expected
    assert {row[decade] for row in kinds["rows"]} == {1990}
    for row in data["sources"]["top_voted"]["rows"]:
        assert "Drama" in row[5].split(", ") and 1990 <= row[3] <= 1999


def test_several_genres_cover_titles_of_any_of_them(invoke, sample_lake: Path, tmp_path: Path) -> None:
    con = duckdb.connect()

    def titles_of(*genres: str) -> int:
        return con.execute(
            f"""SELECT count(DISTINCT ff.film_id) FROM {refined(sample_lake, 'FatoFilme')} ff
                JOIN {refined(sample_lake, 'DimGenero')} g USING (genre_id)
                WHERE list_contains($g, g.genre)""", {"g": list(genres)}).fetchone()[0]

    _, data = make_report(invoke, sample_lake, tmp_path / "two.html", "--genre", "drama,COMEDY", "--genre", "Crime")
    both = titles_of("Drama", "Comedy", "Crime")
    assert both > max(titles_of("Drama"), titles_of("Comedy"), titles_of("Crime"))
    assert data["headline"]["titles"] == both


def test_an_unknown_genre_exits_2_listing_the_known_ones(invoke, sample_lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "typo.html"
    result = invoke("report", "--lake", sample_lake, "-o", out, "--genre", "drama,Dramma")
    assert result.exit_code == 2
    assert "--genre Dramma: not a genre of this lake; known genres: " in result.stderr
    assert "Drama" in result.stderr and "Comedy" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("name", ["json", "report.json", "out.csv", "PDF"])
def test_an_output_name_that_looks_like_a_format_is_refused(invoke, sample_lake: Path, name: str) -> None:
    result = invoke("report", "--lake", sample_lake, "-o", name)
    assert result.exit_code == 2
    assert "looks like a format" in result.stderr and "--format json" in result.stderr
    assert not Path(name).exists()


def test_a_lake_without_refined_data_exits_1_and_writes_nothing(invoke, movies_csv: Path, tmp_path: Path) -> None:
    lake, out = tmp_path / "lake", tmp_path / "report.html"
    assert invoke("ingest-csv", movies_csv, "--lake", lake, *DATE).exit_code == 0  # Raw only, no refine yet
    result = invoke("report", "--lake", lake, "-o", out)
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert f"no Refined data in {lake}" in message and "moviedl refine" in message
    assert not out.exists()


def test_no_matching_titles_gives_empty_panels_not_an_error(invoke, sample_lake: Path, tmp_path: Path) -> None:
    summary, data = make_report(invoke, sample_lake, tmp_path / "none.html", "--year-from", "2200")
    assert data["headline"]["titles"] == 0
    assert all(not source["rows"] for source in data["sources"].values())
    assert "no titles match: every panel shows a note instead" in summary["notes"]


def test_year_range_backwards_is_bad_usage(invoke, sample_lake: Path, tmp_path: Path) -> None:
    result = invoke("report", "--lake", sample_lake, "-o", tmp_path / "x.html", "--year-from", "2000", "--year-to", "1990")
    assert result.exit_code == 2
    assert "--year-from 2000 is after --year-to 1990" in result.output


def test_report_from_an_s3_lake(invoke, bucket: str, movies_csv: Path, series_csv: Path, tmp_path: Path) -> None:
    lake = f"s3://{bucket}/lake"
    assert invoke("ingest-csv", movies_csv, series_csv, "--lake", lake, *DATE).exit_code == 0
    assert invoke("refine", "--lake", lake, *DATE).exit_code == 0
    _, data = make_report(invoke, lake, tmp_path / "s3.html")
    assert (data["headline"]["movies"], data["headline"]["series"]) == (70, 29)
    assert data["quality"]["last_run"]["command"] == "refine"


def test_report_references_nothing_outside_the_file(invoke, sample_lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    make_report(invoke, sample_lake, out)
    html = out.read_text("utf-8")
    assert "http://" not in html and "https://" not in html
    assert "default-src 'none'" in html
    assert len(html.encode()) < 2_000_000


# --- data quality and real-file spellings -----------------------------------------------------------


def test_quality_panel_shows_freshness_quarantine_and_the_last_run(invoke, generated_lake: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    _, data = make_report(invoke, generated_lake, tmp_path / "report.html")
    quality = data["quality"]
    assert quality["latest_date"] == "2024-05-01" and quality["age_days"] > 0
    files = sorted((generated_lake / "_moviedl" / "quarantine").rglob("*.parquet"))
    assert files, "the generated files are dirty: refine quarantines some rows"
    assert quality["quarantined_rows"] == sum(pq.ParquetFile(f).metadata.num_rows for f in files) > 0
    assert {(q["table"], q["dt"]) for q in quality["quarantined"]} >= {("Local/Movies", "2024-05-01")}
    assert quality["last_run"]["command"] == "refine" and quality["last_run"]["status"] == "ok"

    # A failed run is the one shown, whatever reports ran after it.
    assert invoke("ingest-csv", tmp_path / "missing.csv", "--lake", generated_lake, *DATE).exit_code == 2
    _, data = make_report(invoke, generated_lake, tmp_path / "again.html")
    assert data["quality"]["last_run"]["command"] == "ingest-csv"
    assert data["quality"]["last_run"]["status"] == "failed (exit 2)"


def test_cast_gender_counts_actor_and_actress_as_the_real_files_spell_it(invoke, tmp_path: Path) -> None:
    from moviedl.core.sources import MOVIES
    from tests.test_refine import write_csv
    from tests.test_verdict import CHALLENGE_ROWS

    lake = tmp_path / "lake"
    csv = write_csv(tmp_path / "movies.csv", MOVIES.header, CHALLENGE_ROWS)
    assert invoke("ingest-csv", csv, "--lake", lake, *DATE).exit_code == 0
    assert invoke("refine", "--lake", lake, *DATE).exit_code == 0
    _, data = make_report(invoke, lake, tmp_path / "real.html")

    gender = data["sources"]["cast_gender"]
    credits: dict[str, int] = {}
    for row in gender["rows"]:
        r = dict(zip(gender["columns"], row, strict=True))
        credits[r["gender"]] = credits.get(r["gender"], 0) + r["credits"]
    assert credits.get("unknown", 0) == 0, credits
    assert credits["female"] > 0 and credits["male"] > 0


# --- the real report in a real browser ---------------------------------------------------------------


def test_the_sample_report_filters_in_headless_chromium(invoke, sample_lake: Path, tmp_path: Path) -> None:
    """The page built from the sample lake, in Chromium: every panel drawn, and a genre, a type
    and a minimum of votes chosen in the filter bar change the charts to what the views say."""
    from tests.test_report_page import draws, load, redrawn, severe, texts
    from tests.webdriver import Browser

    out = tmp_path / "report.html"
    make_report(invoke, sample_lake, out)
    con = views_over(invoke, sample_lake)
    with Browser.start(width=1280, height=900) as browser:
        load(browser, out)
        assert severe(browser.log()) == []
        drawn = browser.execute(
            "return [...document.querySelectorAll('main section.panel')].map(s => [s.id, "
            "s.querySelectorAll('svg.chart .mark, svg.chart rect, svg.chart circle, tbody tr').length, "
            "s.querySelector('.note, .empty') !== null])")
        for panel_id, marks, note in drawn:
            if panel_id in ("panel-budget-genre", "panel-budget-year", "panel-budget-revenue", "panel-languages",
                            "panel-coverage"):
                assert note, panel_id  # no TMDB data in this lake: a note says so (no empty 0% chart)
                assert "run moviedl ingest-tmdb" in texts(browser, f"#{panel_id} .note")[0], panel_id
            elif panel_id != "panel-quality":
                assert marks > 0, panel_id

        before = texts(browser, "#panel-genres text.value")
        n = draws(browser)
        browser.find("#filter-genre").select("Drama")
        redrawn(browser, n)
        assert browser.url.endswith("#genre=Drama")
        assert texts(browser, "#panel-genres text.label") == ["Drama"]
        (drama,) = con.execute("SELECT titles FROM v_genre_summary WHERE genre = 'Drama'").fetchone()
        assert texts(browser, "#panel-genres text.value")[0].split(" · ")[0] == str(drama)
        assert texts(browser, "#panel-genres text.value") != before
        shown = texts(browser, "#panel-top-voted td[data-field=genres]")
        assert shown and all("Drama" in g.split(", ") for g in shown)
        # panels over title-level views honour the genre too: the ratings drawn are Drama's
        drama_ratings = con.execute("SELECT count(*) FROM v_title_facts WHERE imdb_rating IS NOT NULL "
                                    "AND list_contains(string_split(genres, ', '), 'Drama')").fetchone()[0]
        bars = texts(browser, "#panel-ratings rect.mark > title")
        assert sum(int(b.split(": ")[1].split()[0]) for b in bars) == drama_ratings
        assert all(b == [] for b in browser.execute(
            "return [...document.querySelectorAll('main section.panel')].map(s => "
            "[...s.querySelectorAll('.badge')].map(b => b.textContent))"))

        n = draws(browser)
        browser.find("#filter-kind").select("series")
        redrawn(browser, n)
        types = texts(browser, "#panel-top-voted td[data-field=title_type]")
        assert types and set(types) == {"series"}
        (series,) = con.execute("SELECT count(*) FROM v_title_facts WHERE title_type = 'series' "
                                "AND list_contains(string_split(genres, ', '), 'Drama') AND imdb_votes IS NOT NULL").fetchone()
        assert len(types) == min(series, 20)

        # the CSV of a chart is the view's rows under the same filters, aggregated as drawn
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        browser._call("POST", "goog/cdp/execute", {"cmd": "Browser.setDownloadBehavior",
                                                   "params": {"behavior": "allow", "downloadPath": str(downloads)}})
        browser.execute("document.querySelector('#panel-kinds button.csv').scrollIntoView({block: 'center'})")
        browser.find("#panel-kinds button.csv").click()
        path = downloads / "kinds_Drama_series.csv"
        browser.wait_for(path.exists, what="the CSV download")
        rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
        assert rows[0] == ["decade", "title_type", "titles"]
        want = con.execute("SELECT decade, title_type, sum(titles) FROM v_kind_decade WHERE title_type = 'series' "
                           "AND list_contains(string_split(genres, ', '), 'Drama') AND decade IS NOT NULL "
                           "GROUP BY ALL ORDER BY decade").fetchall()
        assert [(int(d), k, int(n)) for d, k, n in rows[1:]] == want and want
        assert severe(browser.log()) == []
