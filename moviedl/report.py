"""``moviedl report``: a self-contained HTML dashboard built from the Refined zone.

DuckDB aggregates the Refined tables (read from a local lake directly, or staged from S3
through the lake layer); :mod:`moviedl.svgchart` draws each aggregate as inline SVG. The page
needs no network: no script, font, style sheet or image is fetched, so it opens from disk in
any browser, and stays small because only aggregates (and capped, stable samples for the
scatter plots) are embedded.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import duckdb

from moviedl import __version__, duck, svgchart
from moviedl.config import Settings
from moviedl.contract import REFINED_TABLES, TRUSTED_TABLES, Table
from moviedl.errors import DataCheckError, ExitCode, UsageError
from moviedl.files import atomic_file
from moviedl.lake import Lake
from moviedl.summary import Check, Status, Summary

_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.I)
_DT = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")


@dataclass(frozen=True)
class ReportOptions:
    output: Path = Path("moviedl-report.html")
    genres: tuple[str, ...] = ()  # any of these (case-insensitive); "drama,crime" counts as two
    year_from: int | None = None
    year_to: int | None = None
    max_points: int = 1500  # per scatter plot: a stable sample keeps the file small

    def __post_init__(self) -> None:
        genres = tuple(dict.fromkeys(g.strip() for text in self.genres for g in text.split(",") if g.strip()))
        object.__setattr__(self, "genres", genres)
        object.__setattr__(self, "output", Path(self.output))
        check_output_name(self.output)


# Names that say "a format", not "an HTML file": `-o json` or `-o report.csv` is a mistake for
# --format json or for another tool, and would get an HTML page under a misleading name.
_FORMAT_NAMES = {"json", "csv", "text", "txt", "md", "markdown", "pdf", "png", "svg", "xlsx", "parquet", "html"}


def check_output_name(path: Path) -> None:
    """Refuse an ``--output`` name that looks like a format rather than an .html file (exit 2)."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return
    if suffix.lstrip(".") in _FORMAT_NAMES or (not suffix and path.name.lower() in _FORMAT_NAMES):
        raise UsageError(
            f"--output {path}: the report is an HTML page, and this name looks like a format",
            hint="Give a file name ending in .html (e.g. -o report.html); for the summary as JSON "
            "use --format json.",
        )


@dataclass
class _Section:
    title: str
    chart: str | None
    note: str | None = None
    points: int = 0  # aggregated rows behind the chart


def build_report(settings: Settings, lake: Lake, options: ReportOptions) -> Summary:
    """Query the Refined zone and write the HTML dashboard to ``options.output``."""
    if options.year_from and options.year_to and options.year_from > options.year_to:
        raise UsageError(f"--year-from {options.year_from} is after --year-to {options.year_to}")
    summary = Summary("report", lake.uri, None, ["section", "shows", "data rows", "note"])
    with tempfile.TemporaryDirectory(prefix="moviedl-report-") as tmp:
        con = duck.connect(settings, Path(tmp))
        try:
            missing = [t.name for t in REFINED_TABLES if not _register(con, lake, t, Path(tmp))]
            _check_genres(con, options.genres)
            params = {"genres": [g.lower() for g in options.genres], "year_from": options.year_from,
                      "year_to": options.year_to}
            duck.run_script(con, "report_films", params)
            duck.run_script(con, "report_title_facts")
            headline = _headline(con, lake)
            sections = _sections(con, options.max_points, headline, missing)
        except duckdb.Error as exc:
            raise DataCheckError(
                f"the Refined zone of {lake.uri} cannot be read: {str(exc).splitlines()[0]}",
                hint="Run 'moviedl validate --zone refined' to find the damaged table, then 'moviedl refine'.",
            ) from None
        finally:
            con.close()

    page = _page(headline, sections, options, lake, missing)
    external = _EXTERNAL.findall(page)
    summary.checks.append(
        Check("no external resources", str(options.output), f"{len(external)} found",
              Status.PASS if not external else Status.FAIL, "0 (the page must open offline)")
    )
    if external:
        summary.problems.append(f"the report would load external resources: {external[:3]}")
        summary.fail(ExitCode.CHECK_FAILED)
        return summary
    _write_atomically(options.output, page.encode("utf-8"))

    for section in sections:
        summary.rows.append(
            {"section": section.title,
             "shows": ("table" if section.chart.startswith("<table") else "chart") if section.chart else "note",
             "data rows": section.points, "note": "" if section.chart else section.note}
        )
    if missing:
        summary.notes.append(f"Refined tables not found: {', '.join(missing)} (run moviedl refine)")
    if headline["titles"] == 0:
        summary.notes.append("no titles match: every chart shows a note instead")
    summary.counts = {
        "titles": headline["titles"],
        "charts": sum(s.chart is not None for s in sections),  # the top-titles table counts
        "notes": sum(s.chart is None for s in sections),
        "bytes": len(page.encode("utf-8")),
    }
    summary.notes.append(f"report written to {options.output}")
    return summary


# --- data -------------------------------------------------------------------------------------


def _register(con: duckdb.DuckDBPyConnection, lake: Lake, table: Table, tmp: Path) -> bool:
    """Make ``table`` queryable by its name; an empty table of the contract's shape if absent."""
    keys = [o.key for o in lake.list_objects(table.prefix()) if o.key.endswith(".parquet")]
    if keys:
        files = [str(lake.local_path(key, tmp / "lake")) for key in keys]
        con.read_parquet(files, hive_partitioning=False).to_view(table.name)
        return True
    columns = ", ".join(f"{duck.ident(c.name)} {c.type}" for c in table.columns)
    con.execute(f"CREATE TABLE {duck.ident(table.name)} ({columns})")  # names come from the contract
    return False


def _check_genres(con: duckdb.DuckDBPyConnection, genres: tuple[str, ...]) -> None:
    """Refuse (exit 2) a genre the lake does not hold, naming those it does: a typo would
    otherwise give an empty report that looks like no data."""
    if not genres:
        return
    known = [g for (g,) in con.execute(
        "SELECT DISTINCT genre FROM dim_genero WHERE genre IS NOT NULL ORDER BY genre").fetchall()]
    if not known:
        return  # no Refined genres yet: the report says so
    unknown = [g for g in genres if g.lower() not in {k.lower() for k in known}]
    if unknown:
        raise UsageError(
            f"--genre {', '.join(unknown)}: not a genre of this lake; known genres: {', '.join(known)}",
            hint="Genres match case-insensitively; give several as --genre drama,crime or repeat --genre.",
        )


def _rows(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> list[tuple]:
    return con.execute(duck.sql_text(name), params or None).fetchall()


def _headline(con: duckdb.DuckDBPyConnection, lake: Lake) -> dict[str, Any]:
    titles, movies, series, genres, with_tmdb = _rows(con, "report_headline")[0]
    (artists,) = _rows(con, "report_artists")[0]
    dates = {m.group(1) for t in TRUSTED_TABLES for o in lake.list_objects(t.prefix()) if (m := _DT.search("/" + o.key))}
    return {
        "titles": titles, "movies": movies, "series": series, "genres": genres, "artists": artists,
        "tmdb_coverage": (with_tmdb / titles) if titles else None,
        "latest_date": max(dates) if dates else None,
    }


def _sections(
    con: duckdb.DuckDBPyConnection, max_points: int, headline: dict[str, Any], missing: list[str]
) -> list[_Section]:
    no_titles = None
    if "dim_filmes" in missing:
        no_titles = "No Refined data yet: run moviedl refine."
    elif headline["titles"] == 0:
        no_titles = "No titles match the filters."
    sections = []

    genres = _rows(con, "report_genres")
    sections.append(_Section(
        "Titles and average IMDb rating per genre",
        svgchart.hbar([g for g, _, _ in genres], [n for _, n, _ in genres],
                      [f"avg {r:.1f}" if r is not None else "no rating" for _, _, r in genres],
                      label="titles per genre") if genres else None,
        no_titles or "No genre data in FatoFilme.", len(genres),
    ))
    decades = _rows(con, "report_decades")
    sections.append(_Section(
        "Titles per decade",
        svgchart.columns([f"{d}s" for d, _ in decades], [n for _, n in decades], label="titles per decade",
                         y_title="titles") if decades else None,
        no_titles or "No title has a release year.", len(decades),
    ))
    ratings = _rows(con, "report_ratings")
    sections.append(_Section(
        "IMDb rating distribution",
        svgchart.columns([f"{b:.1f}" for b, _ in ratings], [n for _, n in ratings], label="rating distribution",
                         x_title="IMDb rating (bins of 0.5)", y_title="titles") if ratings else None,
        no_titles or "No title has an IMDb rating.", len(ratings),
    ))
    budget = _rows(con, "report_budget", {"max_points": max_points})
    sections.append(_Section(
        "Budget vs revenue (log scale)",
        svgchart.scatter([(b, r, t) for b, r, t in budget], label="budget vs revenue", x_title="budget (USD)",
                         y_title="revenue (USD)", log_x=True, log_y=True, diagonal=True) if budget else None,
        no_titles or "No title has both a budget and a revenue: they come from TMDB (run moviedl ingest-tmdb, then refine).",
        len(budget),
    ))
    popularity = _rows(con, "report_popularity", {"max_points": max_points})
    sections.append(_Section(
        "TMDB popularity vs IMDb rating",
        svgchart.scatter([(r, p, t) for r, p, t in popularity], label="popularity vs rating",
                         x_title="IMDb rating", y_title="TMDB popularity (log)", log_y=True) if popularity else None,
        no_titles or "No title has a TMDB popularity: run moviedl ingest-tmdb, then refine.",
        len(popularity),
    ))
    gender = _rows(con, "report_gender")
    sections.append(_Section(
        "Cast gender share per genre",
        svgchart.stacked_share([g for g, *_ in gender], ["female", "male", "unknown"],
                               [list(parts) for _, *parts in gender], label="cast gender share") if gender else None,
        no_titles or "No cast data in FatoElenco.", len(gender),
    ))
    top = _rows(con, "report_top")
    sections.append(_Section("Top titles by IMDb votes", _top_table(top) if top else None,
                             no_titles or "No title has IMDb votes.", len(top)))
    return sections


# --- page -------------------------------------------------------------------------------------


def _top_table(rows: list[tuple]) -> str:
    body = "".join(
        f"<tr><td>{i}</td><td>{escape(str(title))}</td><td>{escape(str(kind))}</td>"
        f"<td>{year if year is not None else '-'}</td>"
        f"<td>{f'{rating:.1f}' if rating is not None else '-'}</td><td>{votes:,}</td></tr>"
        for i, (title, kind, year, rating, votes) in enumerate(rows, 1)
    )
    return (
        '<table class="top"><thead><tr><th>#</th><th>title</th><th>type</th><th>year</th>'
        f"<th>rating</th><th>votes</th></tr></thead><tbody>{body}</tbody></table>"
    )


CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1340px;color:#222;background:#fafafa}
h1{margin:0 0 4px}.meta{color:#666;font-size:13px;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:20px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:24px}.card span{color:#666;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(660px,1fr));gap:16px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px}
section h2{font-size:15px;margin:0 0 8px}.note{color:#8a5a00;background:#fff7e6;padding:12px;border-radius:4px}
table.top{border-collapse:collapse;font-size:13px;width:100%}
table.top td,table.top th{border-bottom:1px solid #eee;padding:3px 6px;text-align:left}
.filters{font-size:13px;background:#eef3fb;padding:6px 10px;border-radius:4px;display:inline-block}
"""


def _page(headline: dict[str, Any], sections: list[_Section], options: ReportOptions, lake: Lake,
          missing: list[str]) -> str:
    filters = []
    if options.genres:
        filters.append(f"genre = {escape(' or '.join(options.genres))}")
    if options.year_from:
        filters.append(f"released ≥ {options.year_from}")
    if options.year_to:
        filters.append(f"released ≤ {options.year_to}")
    coverage = headline["tmdb_coverage"]
    cards = [
        ("titles", f"{headline['titles']:,}"), ("movies", f"{headline['movies']:,}"),
        ("series", f"{headline['series']:,}"), ("genres", f"{headline['genres']:,}"),
        ("artists", f"{headline['artists']:,}"),
        ("TMDB coverage", "-" if coverage is None else f"{coverage:.0%}"),
        ("latest ingestion date", headline["latest_date"] or "-"),
    ]
    card_html = "".join(
        f'<div class="card" data-key="{escape(k)}"><b>{escape(str(v))}</b><span>{escape(k)}</span></div>' for k, v in cards
    )
    section_html = "".join(
        f"<section><h2>{escape(s.title)}</h2>"
        + (s.chart if s.chart else f'<p class="note">{escape(s.note or "No data.")}</p>')
        + "</section>"
        for s in sections
    )
    warning = (
        f'<p class="note">Refined tables not found: {escape(", ".join(missing))}. Run <code>moviedl refine</code>.</p>'
        if missing else ""
    )
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        # The browser itself refuses any load from outside the file: the page is offline by construction.
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>moviedl report</title><style>{_CSS}</style></head><body>"
        "<h1>Movies and series</h1>"
        f'<div class="meta">lake {escape(lake.uri)} · generated {generated} by moviedl {__version__}</div>'
        f'<p class="filters">Filters: {"; ".join(filters) if filters else "none (all titles)"}</p>'
        f'{warning}<div class="cards">{card_html}</div><div class="grid">{section_html}</div>'
        "</body></html>\n"
    )


def _write_atomically(path: Path, data: bytes) -> None:
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as out:
            out.write(data)
    except OSError as exc:
        raise UsageError(f"cannot write the report to {path}: {exc.strerror or exc}",
                         hint="Give --output a file path in a folder you can write to.") from None
