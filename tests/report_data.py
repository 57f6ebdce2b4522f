"""Synthetic report data (the report data contract) for the page's tests and screenshots.

``make_data()`` builds a realistic ``data`` dict from a few hundred generated titles: genres
including "(unknown)", decades 1920-2020, movies and series, sources shaped like the analysis
views the report embeds, and one panel of every chart type. ``expected_rows`` is an independent
(Python) statement of the filtering rules, to check what the page shows.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

GENRES = ["Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Romance",
          "Science Fiction", "Thriller"]
UNKNOWN = "(unknown)"
ONE_TITLE_GENRE = "Western"
MIN_GROUP = 10
SCRIPT_TITLE = "The </script><script>alert(1)</script> Affair"
COMMENT_TITLE = 'A <!-- quiet --> Story & "Quotes"'
_ADJ = ["Silent", "Crimson", "Last", "Hidden", "Golden", "Broken", "Distant", "Midnight", "Wild", "Frozen",
        "Electric", "Lonely", "Secret", "Burning", "Endless"]
_NOUN = ["River", "Empire", "Garden", "Signal", "Harbor", "Witness", "Machine", "Summer", "Kingdom", "Letter",
         "Frontier", "Orchestra", "Mirror", "Voyage", "Detective"]


def make_titles(n: int = 260, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    titles = []
    for i in range(n):
        kind = "movie" if rng.random() < 0.7 else "series"
        year = rng.randint(1920 if kind == "movie" else 1950, 2024)
        if i < 4:
            genres = [UNKNOWN]
        else:
            genres = sorted(rng.sample(GENRES, rng.choice([1, 1, 2, 2, 3])))
        votes = None if rng.random() < 0.05 else int(10 ** rng.uniform(1.5, 6.4))
        rating = None if votes is None or rng.random() < 0.04 else round(rng.uniform(3.2, 9.3), 1)
        tmdb = rng.random() < 0.8
        budget = revenue = None
        if tmdb and kind == "movie" and rng.random() < 0.7:
            budget = int(10 ** rng.uniform(5, 8.4))
            revenue = int(budget * 10 ** rng.uniform(-1.5, 1.2))
        title = f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}" + (f" {i}" if i % 3 == 0 else "")
        titles.append({
            "film_id": i + 1,
            "title": title,
            "title_type": kind,
            "release_year": year,
            "decade": year // 10 * 10,
            "genres": ", ".join(genres),
            "imdb_rating": rating,
            "imdb_votes": votes,
            "runtime_minutes": rng.randint(75, 190) if kind == "movie" else rng.randint(20, 65),
            "original_language": rng.choice(["en", "en", "en", "fr", "ja", "es", "de", "it", "ko"]) if tmdb else None,
            "tmdb": tmdb,
            "budget": budget,
            "revenue": revenue,
            "cast": {"female": rng.randint(0, 6), "male": rng.randint(1, 8), "unknown": rng.randint(0, 1)},
        })
    # Titles that must not break the page (and stay out of the top-voted table's first rows).
    titles[10].update(title=SCRIPT_TITLE, imdb_votes=120, imdb_rating=6.1)
    titles[11].update(title=COMMENT_TITLE, imdb_votes=95, imdb_rating=5.4)
    # One title of its own genre, with a budget (a ratio of one title is no fact), released in
    # the 1890s: the 1900s and 1910s hold no title (a gap the time axes must show).
    titles[12].update(genres=ONE_TITLE_GENRE, release_year=1896, decade=1890, title_type="movie", tmdb=True,
                      budget=1_000_000, revenue=131_700_000, imdb_votes=2500, imdb_rating=6.6)
    for t in titles:
        t["votes_band"] = votes_band(t["imdb_votes"])
    return titles


def votes_band(votes: int | None) -> int:
    """The largest of the page's minimum-votes choices a title reaches (0 without votes)."""
    return max((b for b in (0, 1_000, 10_000, 100_000, 1_000_000) if votes is not None and votes >= b), default=0)


def _source(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"columns": columns, "rows": rows}


def _grouped(titles: list[dict[str, Any]], keys: list[str], explode: bool = False) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for t in titles:
        for genre in t["genres"].split(", ") if explode else [None]:
            row = dict(t, genre=genre)
            groups[tuple(row[k] for k in keys)].append(row)
    return dict(sorted(groups.items(), key=lambda kv: tuple(str(k) for k in kv[0])))


def _avg(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 2) if present else None


def make_sources(titles: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    # the views' grain: per genre (a title in each of its genres) or per genre combination
    # (`genres`, a title once), decade, type and votes band, so every page filter applies
    s["genre_decade"] = _source(
        ["genre", "decade", "title_type", "votes_band", "titles", "rated_titles", "avg_imdb_rating", "total_imdb_votes"],
        [[*k, len(g), sum(t["imdb_rating"] is not None for t in g), _avg([t["imdb_rating"] for t in g]),
          sum(t["imdb_votes"] or 0 for t in g)]
         for k, g in _grouped(titles, ["genre", "decade", "title_type", "votes_band"], explode=True).items()])
    s["kind_decade"] = _source(
        ["title_type", "decade", "genres", "votes_band", "titles", "rated_titles", "avg_imdb_rating"],
        [[*k, len(g), sum(t["imdb_rating"] is not None for t in g), _avg([t["imdb_rating"] for t in g])]
         for k, g in _grouped(titles, ["title_type", "decade", "genres", "votes_band"]).items()])
    rated = [dict(t, rating_bin=min(int(t["imdb_rating"] * 2) / 2, 9.5)) for t in titles if t["imdb_rating"] is not None]
    s["rating_distribution"] = _source(
        ["title_type", "decade", "genres", "votes_band", "rating_bin", "titles"],
        [[*k, len(g)] for k, g in _grouped(rated, ["title_type", "decade", "genres", "votes_band", "rating_bin"]).items()])
    s["language_summary"] = _source(
        ["original_language", "title_type", "decade", "genres", "votes_band", "titles", "rated_titles", "avg_imdb_rating"],
        [[*k, len(g), sum(t["imdb_rating"] is not None for t in g), _avg([t["imdb_rating"] for t in g])]
         for k, g in _grouped(titles, ["original_language", "title_type", "decade", "genres", "votes_band"]).items()])
    s["tmdb_coverage"] = _source(
        ["title_type", "decade", "genres", "votes_band", "titles", "with_tmdb"],
        [[*k, len(g), sum(t["tmdb"] for t in g)]
         for k, g in _grouped(titles, ["title_type", "decade", "genres", "votes_band"]).items()])
    money = [t for t in titles if t["budget"] and t["revenue"]]
    s["budget_by_genre"] = _source(
        ["genre", "title_type", "decade", "votes_band", "titles", "budget", "revenue"],
        [[*k, len(g), sum(t["budget"] for t in g), sum(t["revenue"] for t in g)]
         for k, g in _grouped(money, ["genre", "title_type", "decade", "votes_band"], explode=True).items()])
    s["budget_by_year"] = _source(
        ["release_year", "decade", "title_type", "genres", "votes_band", "titles", "budget", "revenue"],
        [[*k, len(g), sum(t["budget"] for t in g), sum(t["revenue"] for t in g)]
         for k, g in _grouped(money, ["release_year", "decade", "title_type", "genres", "votes_band"]).items()])
    cast_rows = []
    for (genre, kind, decade, band), g in _grouped(titles, ["genre", "title_type", "decade", "votes_band"],
                                                   explode=True).items():
        for gender in ("female", "male", "unknown"):
            credits = sum(t["cast"][gender] for t in g)
            if credits:
                cast_rows.append([genre, kind, decade, band, gender, credits])
    s["cast_gender"] = _source(["genre", "title_type", "decade", "votes_band", "gender", "credits"], cast_rows)
    title_cols = ["film_id", "title", "title_type", "release_year", "decade", "genres", "imdb_rating", "imdb_votes"]
    voted = sorted((t for t in titles if t["imdb_votes"] is not None), key=lambda t: (-t["imdb_votes"], t["film_id"]))
    s["top_voted"] = _source(title_cols, [[t[c] for c in title_cols] for t in voted])
    s["top_rated"] = _source(title_cols, [[t[c] for c in title_cols] for t in voted
                                          if t["imdb_rating"] is not None and t["imdb_votes"] >= 1000])
    # some rows without a rating: the scatter says how many of the titles it shows
    s["rating_votes"] = _source(title_cols, [[t[c] for c in title_cols] for t in titles if t["imdb_votes"]])
    money_cols = ["film_id", "title", "title_type", "decade", "genres", "budget", "revenue", "imdb_rating", "imdb_votes"]
    s["budget_revenue"] = _source(money_cols, [[t[c] for c in money_cols] for t in money])
    # v_artist_summary: per artist and (genres, decade, type, votes band) of the titles they are in
    rng = random.Random(3)
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for i in range(60):
        artist = (i + 1, f"Artist {chr(65 + i % 26)}{i:02d}", rng.choice(["F", "M", None]), rng.randint(1920, 1995))
        for t in rng.sample(titles, rng.randint(1, 14)):
            cells[(*artist, t["genres"], t["decade"], t["title_type"], t["votes_band"])].append(t)
    s["top_artists"] = _source(
        ["artist_id", "name", "gender", "birth_year", "genres", "decade", "title_type", "votes_band", "titles",
         "rated_titles", "avg_imdb_rating", "total_imdb_votes"],
        [[*k, len(g), sum(t["imdb_rating"] is not None for t in g), _avg([t["imdb_rating"] for t in g]),
          sum(t["imdb_votes"] or 0 for t in g)] for k, g in sorted(cells.items(), key=lambda kv: repr(kv[0]))])
    return s


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
_AVG_RATING = {"field": "avg_imdb_rating", "agg": "wavg", "weight": "rated_titles", "format": "rating"}
_NO_UNKNOWN = {"genre": [UNKNOWN]}
_NO_TMDB = "They come from TMDB: run moviedl ingest-tmdb, then moviedl refine."


def _panel(id: str, title: str, subtitle: str, chart: str, source: str | None, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": id, "title": title, "subtitle": subtitle, "chart": chart, "source": source,
            "x": None, "y": None, "series": None, "value": None, "label": None, "series_values": None,
            "exclude": {}, "sort": "x_asc", "limit": None, "format": "count", "x_format": "text",
            "log_x": False, "log_y": False, "point": None, "columns": None, "order": None,
            "empty": "No title matches the filters.", "n": None, "empty_if_zero": None, "group": None,
            "having": None}
    base.update(spec)
    return base


_N = {"field": "titles", "agg": "sum", "noun": "title"}
_ARTIST_GROUP = {"by": ["artist_id"], "keep": ["name", "gender", "birth_year"], "measures": [
    {"field": "titles", "agg": "sum"}, {"field": "rated_titles", "agg": "sum"},
    {"field": "avg_imdb_rating", "agg": "wavg", "weight": "rated_titles"}, {"field": "total_imdb_votes", "agg": "sum"}]}


def make_panels() -> list[dict[str, Any]]:
    titles = {"field": "titles", "agg": "sum"}
    return [
        _panel("genre-decade", "Genre popularity by decade", "titles per genre and decade of release", "heatmap",
               "genre_decade", x="decade", y="genre", value=titles, x_format="decade", exclude=_NO_UNKNOWN),
        _panel("genres", "Titles and average IMDb rating per genre", "a title counts once in each of its genres",
               "hbar", "genre_decade", x="genre", value=titles, label=_AVG_RATING, sort="value_desc", limit=25,
               exclude=_NO_UNKNOWN, n=_N),
        _panel("kinds", "Movies and series per decade", "titles per decade of release", "grouped", "kind_decade",
               x="decade", series="title_type", value=titles, x_format="decade"),
        _panel("rating-votes", "IMDb rating vs votes", "one point per title", "scatter", "rating_votes",
               point={"x": "imdb_votes", "y": "imdb_rating", "label": "title"}, log_x=True,
               empty="No title has both an IMDb rating and votes."),
        _panel("top-voted", "Most-voted titles", "by IMDb votes", "table", "top_voted", columns=_TITLE_COLUMNS,
               limit=20, order=[{"field": "imdb_votes", "desc": True}],
               empty="No title with IMDb votes matches the filters."),
        _panel("top-rated", "Top-rated titles", "at least 1k IMDb votes", "table", "top_rated",
               columns=_TITLE_COLUMNS, limit=20,
               order=[{"field": "imdb_rating", "desc": True}, {"field": "imdb_votes", "desc": True}]),
        _panel("ratings", "IMDb rating distribution", "titles per bin of 0.5", "columns", "rating_distribution",
               x="rating_bin", value=titles, x_format="bin", empty="No title has an IMDb rating."),
        _panel("decades", "Titles per decade", "counted from the title rows", "columns", "rating_votes",
               x="decade", value={"agg": "count"}, x_format="decade"),
        _panel("languages", "Original language", "titles per TMDB original language", "hbar", "language_summary",
               x="original_language", value=titles, label=_AVG_RATING, sort="value_desc", limit=15,
               exclude={"original_language": [None]}, n=_N, empty="No title has an original language. " + _NO_TMDB),
        _panel("budget-genre", "Return on investment by genre", "TMDB revenue ÷ budget, titles with both", "hbar",
               "budget_by_genre", x="genre",
               value={"field": "revenue", "agg": "ratio", "num": "revenue", "den": "budget", "name": "roi"},
               label={"field": "budget", "agg": "sum", "format": "money", "prefix": "budget "}, format="ratio",
               sort="value_desc", limit=25, exclude=_NO_UNKNOWN, n=_N,
               empty="No title has both a budget and a revenue. " + _NO_TMDB),
        _panel("budget-year", "Budget and revenue by year", "TMDB, US dollars, titles with both", "lines",
               "budget_by_year", x="release_year", x_format="year", format="money", n=_N, wide=True,
               series_values=[{"field": "budget", "label": "budget"}, {"field": "revenue", "label": "revenue"}],
               empty="No title has both a budget and a revenue. " + _NO_TMDB),
        _panel("budget-revenue", "Budget vs revenue", "one point per title (log scales)", "scatter",
               "budget_revenue", point={"x": "budget", "y": "revenue", "label": "title"}, log_x=True, log_y=True,
               format="money", diagonal=True, empty="No title has both a budget and a revenue. " + _NO_TMDB),
        _panel("coverage", "TMDB coverage", "share of titles with TMDB data, per decade and type", "grouped",
               "tmdb_coverage", x="decade", series="title_type", x_format="decade", format="percent",
               value={"field": "with_tmdb", "agg": "ratio", "num": "with_tmdb", "den": "titles", "name": "coverage"},
               n=_N, empty_if_zero="with_tmdb", empty="No title has TMDB data. " + _NO_TMDB),
        _panel("cast-gender", "Cast gender share per genre", "credits of principal artists", "stacked_share",
               "cast_gender", x="genre", series="gender", value={"field": "credits", "agg": "sum"},
               sort="value_desc", limit=20, exclude=_NO_UNKNOWN, n={"field": "credits", "agg": "sum", "noun": "credit"},
               empty="No cast data in FatoElenco."),
        _panel("artists", "Artists with the most titles", "credited titles; click a header to sort", "table",
               "top_artists", columns=_ARTIST_COLUMNS, limit=20, group=_ARTIST_GROUP,
               order=[{"field": "titles", "desc": True}, {"field": "total_imdb_votes", "desc": True},
                      {"field": "artist_id"}],
               empty="No cast data in FatoElenco."),
        _panel("artists-rating", "Best-rated artists", "at least 3 rated titles", "table", "top_artists",
               columns=_ARTIST_COLUMNS, limit=20, group=_ARTIST_GROUP, having={"field": "rated_titles", "min": 3},
               order=[{"field": "avg_imdb_rating", "desc": True}, {"field": "rated_titles", "desc": True},
                      {"field": "artist_id"}],
               empty="No artist has 3 rated titles."),
        {"id": "quality", "title": "Data quality", "subtitle": "freshness, quarantined rows, the last run",
         "chart": "quality"},
    ]


def make_data(seed: int = 7) -> dict[str, Any]:
    titles = make_titles(seed=seed)
    genres = sorted({g for t in titles for g in t["genres"].split(", ")} - {UNKNOWN})
    return {
        "meta": {"lake": "/srv/lakes/movies", "generated": "2026-12-02 03:40 UTC", "version": "0.1.0",
                 "scope": "", "min_group": MIN_GROUP},
        "headline": {
            "titles": len(titles),
            "movies": sum(t["title_type"] == "movie" for t in titles),
            "series": sum(t["title_type"] == "series" for t in titles),
            "genres": len(genres), "artists": 1234,
            "tmdb_coverage": sum(t["tmdb"] for t in titles) / len(titles),
            "latest_date": "2026-11-29",
        },
        "quality": {
            "latest_date": "2026-11-29", "age_days": 3,
            "quarantined": [{"table": "movies", "dt": "2026-11-29", "rows": 4},
                            {"table": "series", "dt": "2026-11-28", "rows": None}],
            "quarantined_rows": 4,
            "last_run": {"run_id": "20261129T030000Z-1a2b", "command": "run", "status": "failed (exit 3)",
                         "exit_code": 3, "ended_at": "2026-11-29T03:04:05.123Z", "error": "validate: 2 checks failed"},
            "unknown_genre_titles": sum(t["genres"] == UNKNOWN for t in titles),
        },
        "filters": {"genres": genres, "decades": sorted({t["decade"] for t in titles}), "kinds": ["movie", "series"],
                    "min_votes": [0, 1000, 10000, 100000, 1000000]},
        "sources": make_sources(titles),
        "panels": make_panels(),
    }


def expected_rows(data: dict[str, Any], panel: dict[str, Any], genre: str = "", decade: int | None = None,
                  kind: str = "", votes: int = 0) -> int:
    """How many rows of the panel's source pass the filters and the panel's exclusions."""
    src = data["sources"][panel["source"]]
    ix = {c: i for i, c in enumerate(src["columns"])}

    def keep(row: list[Any]) -> bool:
        if genre:
            if "genre" in ix and row[ix["genre"]] != genre:
                return False
            if "genre" not in ix and "genres" in ix and genre not in (row[ix["genres"]] or "").split(", "):
                return False
        if decade is not None and "decade" in ix and row[ix["decade"]] != decade:
            return False
        if kind and "title_type" in ix and row[ix["title_type"]] != kind:
            return False
        if votes and "imdb_votes" in ix and (row[ix["imdb_votes"]] is None or row[ix["imdb_votes"]] < votes):
            return False
        if votes and "imdb_votes" not in ix and "votes_band" in ix and row[ix["votes_band"]] < votes:
            return False
        return all(row[ix[f]] not in values for f, values in (panel.get("exclude") or {}).items() if f in ix)

    return sum(keep(r) for r in src["rows"])
