"""``moviedl report``: a self-contained HTML dashboard built from the Refined zone.

Every panel reads an analysis view, the same SQL ``athena-ddl`` emits for Athena
(:mod:`moviedl.stages.catalog.views`), run by DuckDB over the Refined tables (read in place from a local
lake, or staged from S3 through the lake layer) narrowed to the report's scope. The rows go
into the page as data; :mod:`moviedl.stages.report.page` draws them, with filters, in the page itself.
Aggregate views are embedded whole; title-level panels get candidates chosen so that the
page's top-N tables stay exact under any filter, or a stable sample for scatter plots. The page
needs no network: no script, font, style sheet or image is fetched.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from moviedl import __version__
from moviedl.core.config import Settings
from moviedl.core.contract import QUARANTINE_PREFIX, REFINED_TABLES, TRUSTED_TABLES, Table
from moviedl.core.errors import DataCheckError, ExitCode, UsageError
from moviedl.core.summary import Check, Status, Summary
from moviedl.engines import duck
from moviedl.engines.base import ident, sql_for
from moviedl.stages.catalog import views
from moviedl.storage import runs
from moviedl.storage.files import atomic_file
from moviedl.storage.lake import Lake

_DT = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")
_QUARANTINE = re.compile(re.escape(QUARANTINE_PREFIX) + r"/(.+)/dt=(\d{4}-\d{2}-\d{2})/[^/]+\.parquet$")
_READ_ONLY_COMMANDS = {"report", "validate", "runs", "athena-ddl", "config"}


#: The page's minimum-IMDb-votes choices (0 = any); top-rated candidates are ranked per band.
MIN_VOTES_CHOICES = (0, 1_000, 10_000, 100_000, 1_000_000)
#: Rows a top-N table shows; candidates are kept per filter cell so any filter's top N is exact.
TOP_ROWS = 20
ARTIST_MIN_RATED_TITLES = 3
UNKNOWN_GENRE = "(unknown)"


@dataclass(frozen=True)
class ReportOptions:
    output: Path = Path("moviedl-report.html")
    genres: tuple[str, ...] = ()  # any of these (case-insensitive); "drama,crime" counts as two
    year_from: int | None = None
    year_to: int | None = None
    max_points: int = 1500  # per scatter plot: a stable sample keeps the file small
    top_rows: int = TOP_ROWS  # rows of each top-N table

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


# --- what the page shows ---------------------------------------------------------------------



@dataclass(frozen=True)
class Source:
    """Rows the page reads: a whole analysis view, or a selection from one (``script``)."""

    name: str
    view: str  # the analysis view (also emitted by athena-ddl) the rows come from
    script: str | None = None  # sql/<script>.sql selecting from ``view``; None = the whole view

    def query(self, con: duck.Connection, params: dict[str, Any]) -> dict[str, Any]:
        if self.script is None:
            cursor = con.execute(f"SELECT * FROM {ident(self.view)} ORDER BY ALL")  # a view name
        else:
            text = sql_for(self.script, "duckdb")
            used = {k: v for k, v in params.items() if f"${k}" in text}
            cursor = con.execute(text, used or None)
        columns = [d[0] for d in cursor.description]
        return {"columns": columns, "rows": [list(r) for r in cursor.fetchall()]}


SOURCES: tuple[Source, ...] = (
    Source("genre_decade", "v_genre_decade"),
    Source("kind_decade", "v_kind_decade"),
    Source("rating_distribution", "v_rating_distribution"),
    Source("runtime_distribution", "v_runtime_distribution"),
    Source("language_summary", "v_language_summary"),
    Source("tmdb_coverage", "v_tmdb_coverage"),
    Source("budget_by_genre", "v_budget_by_genre"),
    Source("budget_by_year", "v_budget_by_year"),
    Source("cast_gender", "v_cast_gender"),
    Source("top_voted", "v_title_facts", "report_top_voted"),
    Source("top_rated", "v_top_rated", "report_top_rated"),
    Source("rating_votes", "v_title_facts", "report_rating_votes"),
    Source("budget_revenue", "v_budget_revenue", "report_budget_revenue"),
    Source("top_artists", "v_artist_summary", "report_top_artists"),
)

_NO_TMDB = "They come from TMDB: run moviedl ingest-tmdb, then moviedl refine."
_TITLE_COLUMNS = [
    {"field": "title", "label": "title", "format": "text"},
    {"field": "title_type", "label": "type", "format": "text"},
    {"field": "release_year", "label": "year", "format": "year"},
    {"field": "genres", "label": "genres", "format": "text"},
    {"field": "imdb_rating", "label": "rating", "format": "rating"},
    {"field": "imdb_votes", "label": "votes", "format": "count"},
]
_ARTIST_COLUMNS = [
    {"field": "name", "label": "artist", "format": "text"},
    {"field": "titles", "label": "titles", "format": "count"},
    {"field": "avg_imdb_rating", "label": "avg rating", "format": "rating"},
    {"field": "rated_titles", "label": "rated", "format": "count"},
    {"field": "total_imdb_votes", "label": "votes", "format": "count"},
]


def _panel(id: str, title: str, subtitle: str, chart: str, source: str, **spec: Any) -> dict[str, Any]:
    view = next(s.view for s in SOURCES if s.name == source)
    base: dict[str, Any] = {"id": id, "title": title, "subtitle": subtitle, "chart": chart, "source": source, "view": view,
            "x": None, "y": None, "series": None, "value": None, "label": None, "series_values": None,
            "exclude": {}, "sort": "x_asc", "limit": None, "format": "count", "x_format": "text",
            "log_x": False, "log_y": False, "point": None, "columns": None, "order": None,
            "empty": "No title matches the filters.", "diagonal": False, "wide": False,
            "x_title": None, "y_title": None, "n": None, "empty_if_zero": None, "group": None,
            "having": None}
    unknown = set(spec) - set(base)
    assert not unknown, unknown
    base.update(spec)
    return base


def _titles(field: str = "titles") -> dict[str, Any]:
    return {"field": field, "agg": "sum"}


def _n(field: str = "titles", noun: str = "title") -> dict[str, Any]:
    """What a mark stands for: the page shows this count beside every ratio, share and average,
    and lists groups below the minimum group size as too few to compare."""
    return {"field": field, "agg": "sum", "noun": noun}


#: The top-artist tables sum an artist's rows (v_artist_summary) under the page's filters.
_ARTIST_GROUP = {"by": ["artist_id"], "keep": ["name", "gender", "birth_year"], "measures": [
    {"field": "titles", "agg": "sum"}, {"field": "rated_titles", "agg": "sum"},
    {"field": "avg_imdb_rating", "agg": "wavg", "weight": "rated_titles"}, {"field": "total_imdb_votes", "agg": "sum"}]}


_AVG_RATING = {"field": "avg_imdb_rating", "agg": "wavg", "weight": "rated_titles", "format": "rating"}
_NO_UNKNOWN_GENRE = {"genre": [UNKNOWN_GENRE]}

def panels(top_rows: int = TOP_ROWS) -> list[dict[str, Any]]:
    """The page's panels, in order (the spec :mod:`moviedl.stages.report.page` draws)."""
    return [
        _panel("genre-decade", "Genre popularity by decade", "titles per genre and decade of release",
               "heatmap", "genre_decade", x="decade", y="genre", value=_titles(), x_format="decade",
               exclude=_NO_UNKNOWN_GENRE),
        _panel("genres", "Titles and average IMDb rating per genre", "a title counts once in each of its genres",
               "hbar", "genre_decade", x="genre", value=_titles(), label=_AVG_RATING, sort="value_desc",
               limit=25, exclude=_NO_UNKNOWN_GENRE, n=_n()),
        _panel("kinds", "Movies and series per decade", "titles per decade of release", "grouped",
               "kind_decade", x="decade", series="title_type", value=_titles(), x_format="decade"),
        _panel("rating-votes", "IMDb rating vs votes", "one point per title (a stable sample)", "scatter",
               "rating_votes", point={"x": "imdb_votes", "y": "imdb_rating", "label": "title"}, log_x=True,
               empty="No title has both an IMDb rating and votes."),
        _panel("top-rated", "Top-rated titles", "at least 10k IMDb votes, or the minimum-votes filter",
               "table", "top_rated", columns=_TITLE_COLUMNS, limit=top_rows,
               order=[{"field": "imdb_rating", "desc": True}, {"field": "imdb_votes", "desc": True}],
               empty="No title with at least 10k IMDb votes matches the filters."),
        _panel("top-voted", "Most-voted titles", "by IMDb votes", "table", "top_voted",
               columns=_TITLE_COLUMNS, limit=top_rows, order=[{"field": "imdb_votes", "desc": True}],
               empty="No title with IMDb votes matches the filters."),
        _panel("artists-titles", "Artists with the most titles", "credited titles; click a header to sort",
               "table", "top_artists", columns=_ARTIST_COLUMNS, limit=top_rows, group=_ARTIST_GROUP,
               order=[{"field": "titles", "desc": True}, {"field": "total_imdb_votes", "desc": True},
                      {"field": "artist_id"}],
               empty="No cast data in FatoElenco."),
        _panel("artists-rating", "Best-rated artists",
               f"average IMDb rating of their titles, at least {ARTIST_MIN_RATED_TITLES} rated titles",
               "table", "top_artists", columns=_ARTIST_COLUMNS, limit=top_rows, group=_ARTIST_GROUP,
               having={"field": "rated_titles", "min": ARTIST_MIN_RATED_TITLES},
               order=[{"field": "avg_imdb_rating", "desc": True}, {"field": "rated_titles", "desc": True},
                      {"field": "artist_id"}],
               empty=f"No artist has {ARTIST_MIN_RATED_TITLES} rated titles."),
        _panel("ratings", "IMDb rating distribution", "titles per bin of 0.5", "columns", "rating_distribution",
               x="rating_bin", value=_titles(), x_format="bin", empty="No title has an IMDb rating."),
        _panel("runtime", "Runtime distribution", "titles per 15 minutes (series: an episode)", "columns",
               "runtime_distribution", x="runtime_bin", value=_titles(), x_format="minutes",
               empty="No title has a runtime."),
        _panel("languages", "Original language", "titles per TMDB original language (top 15)", "hbar",
               "language_summary", x="original_language", value=_titles(), label=_AVG_RATING,
               sort="value_desc", limit=15, exclude={"original_language": [None]}, n=_n(),
               empty="No title has an original language. " + _NO_TMDB),
        _panel("budget-genre", "Return on investment by genre", "TMDB revenue ÷ budget, titles with both",
               "hbar", "budget_by_genre", x="genre", value={"field": "revenue", "agg": "ratio", "num": "revenue",
               "den": "budget", "name": "roi"}, label={"field": "budget", "agg": "sum", "format": "money", "prefix": "budget "},
               format="ratio", sort="value_desc", limit=25, exclude=_NO_UNKNOWN_GENRE, n=_n(),
               empty="No title has both a budget and a revenue. " + _NO_TMDB),
        _panel("budget-year", "Budget and revenue by year", "TMDB, US dollars, titles with both (totals)", "lines",
               "budget_by_year", x="release_year", x_format="year", format="money", wide=True, n=_n(),
               series_values=[{"field": "budget", "label": "budget"}, {"field": "revenue", "label": "revenue"}],
               empty="No title has both a budget and a revenue. " + _NO_TMDB),
        _panel("budget-revenue", "Budget vs revenue", "one point per title (log scales; a stable sample)",
               "scatter", "budget_revenue", point={"x": "budget", "y": "revenue", "label": "title"}, log_x=True,
               log_y=True, format="money", diagonal=True, x_title="budget", y_title="revenue",
               empty="No title has both a budget and a revenue. " + _NO_TMDB),
        _panel("coverage", "TMDB coverage", "share of titles with TMDB data, per decade and type", "grouped",
               "tmdb_coverage", x="decade", series="title_type", x_format="decade", format="percent",
               value={"field": "with_tmdb", "agg": "ratio", "num": "with_tmdb", "den": "titles", "name": "coverage"},
               n=_n(),
               empty_if_zero="with_tmdb", empty="No title has TMDB data. " + _NO_TMDB),
        _panel("cast-gender", "Cast gender share per genre", "credits of principal artists (actor/actress, M/F)",
               "stacked_share", "cast_gender", x="genre", series="gender", value=_titles("credits"),
               sort="value_desc", limit=20, exclude=_NO_UNKNOWN_GENRE, n=_n("credits", "credit"),
               empty="No cast data in FatoElenco."),
        {"id": "quality", "title": "Data quality", "subtitle": "freshness, quarantined rows, the last run",
         "chart": "quality"},
    ]


def build_report(settings: Settings, lake: Lake, options: ReportOptions) -> Summary:
    """Query the Refined zone through the analysis views and write the HTML dashboard."""
    from moviedl.stages.report import page as report_page

    if options.year_from and options.year_to and options.year_from > options.year_to:
        raise UsageError(f"--year-from {options.year_from} is after --year-to {options.year_to}")
    summary = Summary("report", lake.uri, None, ["panel", "shows", "from_view", "data_rows"])
    with tempfile.TemporaryDirectory(prefix="moviedl-report-") as tmp:
        con = duck.connect(settings, Path(tmp))
        try:
            missing = [t.name for t in REFINED_TABLES if not _register(con, lake, t, Path(tmp))]
            if {"dim_filmes", "fato_filme"} & set(missing):
                raise DataCheckError(
                    f"no Refined data in {lake.uri}: {', '.join(missing)} not found, nothing to report",
                    hint="Run 'moviedl refine' (after 'moviedl ingest-csv'), then 'moviedl report' again.",
                )
            _check_genres(con, options.genres)
            params = {"genres": [g.lower() for g in options.genres], "year_from": options.year_from,
                      "year_to": options.year_to}
            duck.run_script(con, "report_scope", params)
            for view in views.load_views():
                con.execute(view.sql.replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW", 1))
            headline = _headline(con)
            query = {"per_cell": options.top_rows, "bands": list(MIN_VOTES_CHOICES), "max_points": options.max_points,
                     "top": options.top_rows, "min_rated": ARTIST_MIN_RATED_TITLES}
            sources = {s.name: s.query(con, query) for s in SOURCES}
            filters = _filters(con)
        except duck.Error as exc:
            raise DataCheckError(
                f"the Refined zone of {lake.uri} cannot be read: {str(exc).splitlines()[0]}",
                hint="Run 'moviedl validate --zone refined' to find the damaged table, then 'moviedl refine'.",
            ) from None
        finally:
            con.close()
        now = dt.datetime.now(dt.UTC)
        quality = _quality(lake, Path(tmp), now, headline.pop("unknown_genre_titles"))

    headline["latest_date"] = quality["latest_date"]
    shown = panels(options.top_rows)
    data = {
        "meta": {"lake": lake.uri, "generated": now.strftime("%Y-%m-%d %H:%M UTC"), "version": __version__,
                 "scope": _scope(options), "min_group": settings.report_min_group_size},
        "headline": headline, "quality": quality, "filters": filters, "sources": sources,
        "panels": shown,
    }
    page = report_page.render(data)
    external = report_page.external_references(page)
    summary.checks.append(
        Check("no external resources", str(options.output), f"{len(external)} found",
              Status.PASS if not external else Status.FAIL, "0 (the page must open offline)")
    )
    if external:
        summary.problems.append(f"the report would load external resources: {external[:3]}")
        summary.fail(ExitCode.CHECK_FAILED)
        return summary
    _write_atomically(options.output, page.encode("utf-8"))

    for panel in shown:
        rows = len(sources[panel["source"]]["rows"]) if "source" in panel else len(quality["quarantined"])
        summary.rows.append({"panel": panel["title"], "shows": panel["chart"], "from_view": panel.get("view", "-"),
                             "data_rows": rows})
    if missing:
        summary.notes.append(f"Refined tables not found: {', '.join(missing)} (run moviedl refine)")
    if headline["titles"] == 0:
        summary.notes.append("no titles match: every panel shows a note instead")
    summary.counts = {
        "titles": headline["titles"],
        "panels": len(shown),
        "data_rows": sum(len(s["rows"]) for s in sources.values()),
        "bytes": len(page.encode("utf-8")),
    }
    summary.notes.append(f"report written to {options.output}")
    return summary


# --- data -------------------------------------------------------------------------------------


def _register(con: duck.Connection, lake: Lake, table: Table, tmp: Path) -> bool:
    """Make ``table`` queryable as ``refined_<name>``; an empty table of the contract's shape if absent."""
    name = ident(f"refined_{table.name}")
    keys = [o.key for o in lake.list_objects(table.prefix()) if o.key.endswith(".parquet")]
    if keys:
        files = [str(lake.local_path(key, tmp / "lake")) for key in keys]
        con.read_parquet(files, hive_partitioning=False).to_view(f"refined_{table.name}")
        return True
    columns = ", ".join(f"{ident(c.name)} {c.type}" for c in table.columns)
    con.execute(f"CREATE TABLE {name} ({columns})")  # names come from the contract
    return False


def _check_genres(con: duck.Connection, genres: tuple[str, ...]) -> None:
    """Refuse (exit 2) a genre the lake does not hold, naming those it does: a typo would
    otherwise give an empty report that looks like no data."""
    if not genres:
        return
    known = [g for (g,) in con.execute(
        "SELECT DISTINCT genre FROM refined_dim_genero WHERE genre IS NOT NULL ORDER BY genre").fetchall()]
    if not known:
        return  # no Refined genres yet: the report says so
    unknown = [g for g in genres if g.lower() not in {k.lower() for k in known}]
    if unknown:
        raise UsageError(
            f"--genre {', '.join(unknown)}: not a genre of this lake; known genres: {', '.join(known)}",
            hint="Genres match case-insensitively; give several as --genre drama,crime or repeat --genre.",
        )


def _headline(con: duck.Connection) -> dict[str, Any]:
    cursor = con.execute(sql_for("report_headline", "duckdb"))
    row = dict(zip([d[0] for d in cursor.description], cursor.fetchone() or (), strict=True))
    titles, with_tmdb = row.pop("titles"), row.pop("with_tmdb")
    return {"titles": titles, **row, "tmdb_coverage": (with_tmdb / titles) if titles else None}


def _filters(con: duck.Connection) -> dict[str, Any]:
    genres = [g for (g,) in con.execute(
        "SELECT DISTINCT genre FROM fato_filme JOIN dim_genero USING (genre_id) ORDER BY genre").fetchall()
        if g != UNKNOWN_GENRE]
    decades = [d for (d,) in con.execute(
        "SELECT DISTINCT decade FROM dim_filmes WHERE decade IS NOT NULL ORDER BY decade").fetchall()]
    return {"genres": genres, "decades": decades, "kinds": ["movie", "series"],
            "min_votes": list(MIN_VOTES_CHOICES)}


def _quality(lake: Lake, tmp: Path, now: dt.datetime, unknown_genre_titles: int) -> dict[str, Any]:
    """Freshness (newest Trusted partition), quarantined rows per table and date, the last run."""
    dates = {m.group(1) for t in TRUSTED_TABLES for o in lake.list_objects(t.prefix()) if (m := _DT.search("/" + o.key))}
    latest = max(dates) if dates else None
    age = (now.date() - dt.date.fromisoformat(latest)).days if latest else None
    quarantined = []
    for obj in lake.list_objects(QUARANTINE_PREFIX + "/"):
        match = _QUARANTINE.search(obj.key)
        if not match:
            continue
        try:
            rows = pq.ParquetFile(lake.local_path(obj.key, tmp / "quarantine")).metadata.num_rows
        except (OSError, ValueError, pa.ArrowException):
            rows = None  # unreadable: validate reports it; the panel shows "?"
        quarantined.append({"table": match.group(1), "dt": match.group(2), "rows": rows})
    quarantined.sort(key=lambda q: (q["dt"], q["table"]), reverse=True)
    return {
        "latest_date": latest, "age_days": age, "quarantined": quarantined,
        "quarantined_rows": sum(q["rows"] or 0 for q in quarantined),
        "last_run": _last_run(lake), "unknown_genre_titles": unknown_genre_titles,
    }


def _last_run(lake: Lake) -> dict[str, Any] | None:
    """The newest run record of a command that writes the lake (reports and reads do not count)."""
    for record in runs.recent_records(lake, last=20):
        if record.get("command") in _READ_ONLY_COMMANDS:
            continue
        code = record.get("exit_code")
        status = {None: "unfinished", 0: "ok", 130: "interrupted"}.get(code, f"failed (exit {code})")
        return {"run_id": record.get("run_id"), "command": record.get("command"), "status": status,
                "exit_code": code, "ended_at": record.get("ended_at"), "error": record.get("error")}
    return None


def _scope(options: ReportOptions) -> str:
    scope = []
    if options.genres:
        scope.append(f"genre = {' or '.join(options.genres)}")
    if options.year_from:
        scope.append(f"released ≥ {options.year_from}")
    if options.year_to:
        scope.append(f"released ≤ {options.year_to}")
    return "; ".join(scope)


def _write_atomically(path: Path, data: bytes) -> None:
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as out:
            out.write(data)
    except OSError as exc:
        raise UsageError(f"cannot write the report to {path}: {exc.strerror or exc}",
                         hint="Give --output a file path in a folder you can write to.") from None
