"""``moviedl report``: an offline HTML dashboard from the Refined zone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from moviedl.report import CSP

DATE = ("--date", "2024-05-01")


def expected_headline(lake: Path) -> dict[str, int]:
    """Headline figures computed straight from the Refined Parquet, independent of the report."""
    con = duckdb.connect()
    ref = lake / "Refined"
    films = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE title_type = 'movie'), count(*) FILTER (WHERE title_type = 'series') "
        f"FROM read_parquet('{ref}/DimFilmes/*.parquet')"
    ).fetchone()
    genres = con.execute(f"SELECT count(DISTINCT genre_id) FROM read_parquet('{ref}/FatoFilme/*.parquet')").fetchone()
    artists = con.execute(f"SELECT count(DISTINCT artist_id) FROM read_parquet('{ref}/FatoElenco/*.parquet')").fetchone()
    return {"titles": films[0], "movies": films[1], "series": films[2], "genres": genres[0], "artists": artists[0]}


def cards(html: str) -> dict[str, str]:
    return dict((k, v) for v, k in re.findall(r'<div class="card" data-key="[^"]*"><b>([^<]*)</b><span>([^<]*)</span>', html))


def test_sample_report_has_the_headline_figures_and_every_chart(invoke, sample_lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = invoke("report", "--lake", sample_lake, "--output", out, "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    html = out.read_text("utf-8")

    figures = cards(html)
    expected = expected_headline(sample_lake)
    # The sample: 70 movies and 29 series (see moviedl/samples); checked against the Parquet too.
    assert (expected["movies"], expected["series"]) == (70, 29)
    for key in ("titles", "movies", "series", "genres", "artists"):
        assert figures[key] == f"{expected[key]:,}", key
    assert figures["TMDB coverage"] == "0%"  # no TMDB data in this lake
    assert figures["latest ingestion date"] == "2024-05-01"

    shows = {row["section"]: row["shows"] for row in summary["rows"]}
    assert [s for s, kind in shows.items() if kind == "chart"] == [
        "Titles and average IMDb rating per genre", "Titles per decade", "IMDb rating distribution",
        "Cast gender share per genre",
    ]
    assert shows["Top titles by IMDb votes"] == "table"
    # Without TMDB there is no budget or popularity: a note says why, not a blank chart.
    assert shows["Budget vs revenue (log scale)"] == "note"
    assert "run moviedl ingest-tmdb" in html
    assert "The Shawshank Redemption" in html or "Um Sonho de Liberdade" in html


def test_report_references_nothing_outside_the_file(invoke, sample_lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert invoke("report", "--lake", sample_lake, "--output", out).exit_code == 0
    html = out.read_text("utf-8")
    assert "http://" not in html and "https://" not in html
    assert f'content="{CSP}"' in html
    assert len(html.encode()) < 2_000_000


def test_filters_are_applied_and_shown(invoke, sample_lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "drama.html"
    result = invoke("report", "--lake", sample_lake, "-o", out, "--genre", "drama", "--year-from", "1990", "--year-to", "1999")
    assert result.exit_code == 0, result.output
    html = out.read_text("utf-8")
    assert "genre = drama; released ≥ 1990; released ≤ 1999" in html
    con = duckdb.connect()
    ref = sample_lake / "Refined"
    (expected,) = con.execute(
        f"""SELECT count(DISTINCT f.film_id) FROM read_parquet('{ref}/DimFilmes/*.parquet') f
            JOIN read_parquet('{ref}/FatoFilme/*.parquet') ff USING (film_id)
            JOIN read_parquet('{ref}/DimGenero/*.parquet') g USING (genre_id)
            WHERE g.genre = 'Drama' AND f.release_year BETWEEN 1990 AND 1999"""
    ).fetchone()
    assert 0 < expected < expected_headline(sample_lake)["titles"]
    assert cards(html)["titles"] == str(expected)


def test_several_genres_cover_titles_of_any_of_them(invoke, sample_lake: Path, tmp_path: Path) -> None:
    con = duckdb.connect()
    ref = sample_lake / "Refined"

    def titles_of(*genres: str) -> int:
        return con.execute(
            f"""SELECT count(DISTINCT ff.film_id) FROM read_parquet('{ref}/FatoFilme/*.parquet') ff
                JOIN read_parquet('{ref}/DimGenero/*.parquet') g USING (genre_id)
                WHERE list_contains($g, g.genre)""", {"g": list(genres)}).fetchone()[0]

    out = tmp_path / "two.html"
    result = invoke("report", "--lake", sample_lake, "-o", out, "--genre", "drama,COMEDY", "--genre", "Crime")
    assert result.exit_code == 0, result.output
    both = titles_of("Drama", "Comedy", "Crime")
    assert both > max(titles_of("Drama"), titles_of("Comedy"), titles_of("Crime"))
    assert cards(out.read_text("utf-8"))["titles"] == f"{both:,}"


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


def test_empty_lake_gives_notes_not_a_crash(invoke, tmp_path: Path) -> None:
    out = tmp_path / "empty.html"
    (tmp_path / "nothing").mkdir()
    result = invoke("report", "--lake", tmp_path / "nothing", "-o", out, "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {row["shows"] for row in summary["rows"]} == {"note"}
    assert "No Refined data yet: run moviedl refine." in out.read_text("utf-8")


def test_no_matching_titles_says_so(invoke, sample_lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "none.html"
    assert invoke("report", "--lake", sample_lake, "-o", out, "--year-from", "2200").exit_code == 0
    assert out.read_text("utf-8").count("No titles match the filters.") == 7


def test_year_range_backwards_is_bad_usage(invoke, sample_lake: Path, tmp_path: Path) -> None:
    result = invoke("report", "--lake", sample_lake, "-o", tmp_path / "x.html", "--year-from", "2000", "--year-to", "1990")
    assert result.exit_code == 2
    assert "--year-from 2000 is after --year-to 1990" in result.output


def test_report_from_an_s3_lake(invoke, bucket: str, movies_csv: Path, series_csv: Path, tmp_path: Path) -> None:
    lake = f"s3://{bucket}/lake"
    assert invoke("ingest-csv", movies_csv, series_csv, "--lake", lake, *DATE).exit_code == 0
    assert invoke("refine", "--lake", lake, *DATE).exit_code == 0
    out = tmp_path / "s3.html"
    result = invoke("report", "--lake", lake, "-o", out)
    assert result.exit_code == 0, result.output
    assert cards(out.read_text("utf-8"))["movies"] == "70"


# --- in a real browser ---------------------------------------------------------------------------

MEASURE = """<script>
const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBBox();
  return {label: svg.getAttribute('aria-label'), marks: svg.querySelectorAll('rect,circle').length,
          width: box.width, height: box.height};
});
document.body.dataset.result = JSON.stringify(charts);
</script>"""


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_report_renders_in_headless_chromium(invoke, sample_lake: Path, tmp_path: Path) -> None:
    browser = find_chromium()
    if browser is None:
        pytest.skip("Chromium not found: install it (Debian/Ubuntu: apt-get install chromium) to run this test")
    out = tmp_path / "report.html"
    assert invoke("report", "--lake", sample_lake, "-o", out).exit_code == 0
    html = out.read_text("utf-8")
    # A copy that measures the drawn charts: its CSP also allows this one inline script.
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace(CSP, CSP + "; script-src 'unsafe-inline'").replace("</body>", MEASURE + "</body>"), "utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    for page in (out, probe):
        run = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
        assert console == [], console  # no errors, no refused loads
        if page == probe:
            match = re.search(r'data-result="([^"]*)"', run.stdout)
            assert match, "the measuring script did not run"
            charts = json.loads(match.group(1).replace("&quot;", '"'))
    assert len(charts) >= 4
    for chart in charts:
        assert chart["marks"] > 0 and chart["width"] > 50 and chart["height"] > 20, chart


def test_cast_gender_counts_actor_and_actress_as_the_real_files_spell_it(invoke, tmp_path: Path) -> None:
    from moviedl.sources import MOVIES
    from tests.test_refine import write_csv
    from tests.test_verdict import CHALLENGE_ROWS

    lake = tmp_path / "lake"
    csv = write_csv(tmp_path / "movies.csv", MOVIES.header, CHALLENGE_ROWS)
    assert invoke("ingest-csv", csv, "--lake", lake, *DATE).exit_code == 0
    assert invoke("refine", "--lake", lake, *DATE).exit_code == 0
    out = tmp_path / "real.html"
    assert invoke("report", "--lake", lake, "-o", out).exit_code == 0

    shares = re.findall(r"<title>Drama · (female|male|unknown): [^(]*\((\d+)%\)</title>", out.read_text("utf-8"))
    assert dict(shares).get("unknown", "0") == "0", shares
    assert int(dict(shares)["female"]) > 0 and int(dict(shares)["male"]) > 0
