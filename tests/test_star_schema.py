"""Trusted -> Refined: the star schema's grain, keys, TMDB joins and corner cases of the samples."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from moviedl.core.contract import REFINED_TABLES
from tests.test_refine import DAY, ingest, query, refine, rows_by_table
from tests.test_trusted import MOVIE_RECORDS, SERIES_RECORDS, tmdb_movie, write_tmdb

FILMES, GENERO, ARTISTA = (
    "Refined/DimFilmes/data.parquet",
    "Refined/DimGenero/data.parquet",
    "Refined/DimArtista/data.parquet",
)
FILME, ELENCO = "Refined/FatoFilme/data.parquet", "Refined/FatoElenco/data.parquet"


def stable_key(text: str) -> int:
    """The documented key function: the first 60 bits of the MD5 of the text."""
    return int(hashlib.md5(text.encode()).hexdigest()[:15], 16)


def build(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path, tmdb: bool = False
) -> str:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv, series_csv)
    if tmdb:
        write_tmdb(lake, "Movies", MOVIE_RECORDS)
        write_tmdb(lake, "Series", SERIES_RECORDS)
    code, summary = refine(invoke, lake)
    assert code == 0, summary["problems"]
    return lake


def test_refined_tables_have_the_contract_schema(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = build(tmp_path, invoke, movies_csv, series_csv)
    for table in REFINED_TABLES:
        assert query(
            lake, table.data_key(), "SELECT column_name, column_type FROM (DESCRIBE t)"
        ) == list(table.schema)


def test_keys_are_derived_from_the_data_not_row_numbers(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = build(tmp_path, invoke, movies_csv, series_csv)
    assert query(lake, FILMES, "SELECT film_id FROM t WHERE imdb_id = 'tt15398776'") == [
        (15398776,)
    ]
    assert query(lake, GENERO, "SELECT genre_id FROM t WHERE genre = 'Sci-Fi'") == [
        (stable_key("sci-fi"),)
    ]
    assert query(lake, ARTISTA, "SELECT artist_id FROM t WHERE name = 'Charles Chaplin'") == [
        (stable_key("charles chaplin|1889"),)
    ]
    # an artist without a birth year is still one artist, keyed by name alone
    assert query(
        lake, ARTISTA, "SELECT artist_id, birth_year FROM t WHERE name = 'Mattson Tomlin'"
    ) == [(stable_key("mattson tomlin|"), None)]


def test_titles_without_a_genre_get_unknown_and_stay_in_the_fact(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = build(tmp_path, invoke, movies_csv, series_csv)
    unknown = query(lake, GENERO, "SELECT genre_id FROM t WHERE genre = '(unknown)'")
    assert unknown == [(stable_key("(unknown)"),)]
    assert sorted(
        query(lake, FILME, f"SELECT film_id FROM t WHERE genre_id = {unknown[0][0]}")
    ) == [
        (461623,),
        (19850008,),  # Hoje é Dia de Maria (series), The Batman: Parte II (movie)
    ]
    assert query(lake, FILME, "SELECT count(DISTINCT film_id) FROM t") == [(99,)]


def test_the_cast_is_one_row_per_title_and_artist(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = build(tmp_path, invoke, movies_csv, series_csv)
    # Orson Welles is credited twice on Citizen Kane (actor and director): one FatoElenco row.
    welles = stable_key("orson welles|1915")
    assert query(
        lake, ELENCO, f"SELECT character_name FROM t WHERE film_id = 33467 AND artist_id = {welles}"
    ) == [("Charles Foster Kane",)]
    assert query(lake, FILME, "SELECT DISTINCT artist_count FROM t WHERE film_id = 33467") == [(3,)]
    # Sean Young plays in Blade Runner and Dune: one artist, two cast rows.
    young = stable_key("sean young|1959")
    assert query(
        lake,
        ARTISTA,
        f"SELECT name, gender, birth_year, professions FROM t WHERE artist_id = {young}",
    ) == [("Sean Young", "F", 1959, ["actress", "director"])]
    assert query(
        lake,
        ELENCO,
        f"SELECT film_id, character_name FROM t WHERE artist_id = {young} ORDER BY film_id",
    ) == [(83658, "Rachael"), (87182, "Chani")]


def test_films_carry_type_years_and_decade(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = build(tmp_path, invoke, movies_csv, series_csv)
    assert query(
        lake,
        FILMES,
        "SELECT title_type, release_year, end_year, decade FROM t WHERE imdb_id IN "
        "('tt0012349', 'tt0098904', 'tt0096697') ORDER BY film_id",
    ) == [
        ("movie", 1921, None, 1920),
        ("series", 1989, None, 1980),
        ("series", 1989, 1998, 1980),
    ]


def test_tmdb_joins_by_imdb_id_never_by_title(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = build(tmp_path, invoke, movies_csv, series_csv, tmdb=True)
    # Two titles are called "Duna" (1984 and 2021); TMDB has only the 2021 one.
    assert query(
        lake,
        FILMES,
        "SELECT imdb_id, tmdb_id, original_language FROM t WHERE title = 'Duna' ORDER BY imdb_id",
    ) == [("tt0087182", None, None), ("tt1160419", 438631, "en")]
    assert query(
        lake,
        FILME,
        "SELECT DISTINCT tmdb_popularity, tmdb_vote_average, tmdb_vote_count, budget, revenue "
        "FROM t WHERE film_id = 1160419",
    ) == [(88.25, 7.8, 12000, 165000000, 402027830)]
    assert query(lake, FILME, "SELECT DISTINCT budget, revenue FROM t WHERE film_id = 15648") == [
        (None, 45100)
    ]
    assert query(lake, FILMES, "SELECT tmdb_id FROM t WHERE imdb_id = 'tt0903747'") == [
        (1396,)
    ]  # a series
    assert query(
        lake, FILME, "SELECT DISTINCT budget, tmdb_vote_count FROM t WHERE film_id = 903747"
    ) == [(None, 5000)]
    assert query(lake, FILMES, "SELECT count(tmdb_id) FROM t") == [(5,)]


def test_tmdb_takes_the_latest_partition(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = build(tmp_path, invoke, movies_csv, series_csv, tmdb=True)
    write_tmdb(
        lake,
        "Movies",
        [
            tmdb_movie(
                "tt1160419", 438631, "Dune", popularity=99.5, fetched_at="2024-05-02T08:00:00Z"
            )
        ],
        day="2024-05-02",
    )
    code, summary = refine(invoke, lake)
    assert code == 0 and summary["date"] == "2024-05-02"
    assert next(iter(rows_by_table(summary))) == "trusted_tmdb_movies dt=2024-05-02"
    assert query(lake, FILME, "SELECT DISTINCT tmdb_popularity FROM t WHERE film_id = 1160419") == [
        (99.5,)
    ]
    assert query(lake, FILME, "SELECT DISTINCT tmdb_popularity FROM t WHERE film_id = 12349") == [
        (12.5,)
    ]


def test_without_tmdb_data_the_tmdb_columns_are_null_and_the_summary_says_so(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv, series_csv)
    code, summary = refine(invoke, lake)
    assert code == 0
    assert "no TMDB data in the Trusted zone yet: Refined TMDB columns are NULL" in summary["notes"]
    assert query(
        lake, FILME, "SELECT count(tmdb_popularity) + count(budget) + count(revenue) FROM t"
    ) == [(0,)]
    assert rows_by_table(summary)["dim_filmes"][:2] == (99, 99)


def test_with_tmdb_data_the_summary_gives_the_coverage(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv, series_csv)
    write_tmdb(lake, "Movies", MOVIE_RECORDS)
    code, summary = refine(invoke, lake, "--date", DAY)
    assert code == 0
    assert "TMDB: 3 of 99 titles enriched" in summary["notes"]


def test_refined_rows_reconcile_with_counts_taken_from_the_inputs(invoke, tmp_path, movies_csv, series_csv) -> None:
    """The audit's expected rows come from the Trusted input, not from the table itself."""
    import json as _json

    lake = tmp_path / "lake"
    assert invoke("ingest-csv", movies_csv, series_csv, "--lake", lake, "--date", "2024-05-01").exit_code == 0
    result = invoke("refine", "--lake", lake, "--date", "2024-05-01", "--format", "json")
    assert result.exit_code == 0, result.output
    checks = {c["target"]: c for c in _json.loads(result.stdout)["checks"] if c["name"] == "rows reconcile"}
    assert checks["fato_filme"]["observed"] == "distinct (title, genre) pairs 251 = out 251 + duplicates 0 + quarantined 0"
    assert checks["fato_elenco"]["observed"].startswith("distinct (title, artist) pairs 410 = out 410")
    assert checks["dim_artista"]["observed"].startswith("distinct artists (name + birth year) 365 = out 365")
    assert checks["dim_genero"]["observed"].startswith("distinct genres of the titles 19 = out 19")


def test_a_title_takes_its_genres_from_its_latest_snapshot(invoke: Any, tmp_path: Path) -> None:
    """The Kid is re-published a day later with other genres (and the actress spelled as the
    challenge files do): FatoFilme holds the later day's genres only, the audit's expected
    pairs (computed from Trusted, apart from refined.sql) agree, and validate's coverage holds."""
    import json as _json

    from moviedl.core.sources import MOVIES

    lake = str(tmp_path / "lake")
    day1 = tmp_path / "day1" / "movies.csv"
    day2 = tmp_path / "day2" / "movies.csv"
    row = "tt0012349|O Garoto|The Kid|1921|68|{genres}|8.2|138452|{gender}|A Tramp|Charles Chaplin|1889|1977|actor|tt0012349"
    for path, genres, gender in ((day1, "Comedy,Drama,Family", "actor"), (day2, "Western", "actress")):
        path.parent.mkdir()
        path.write_text(f"{MOVIES.header}\n{row.format(genres=genres, gender=gender)}\n", "utf-8")
    ingest(invoke, lake, day1, date="2024-05-01")
    ingest(invoke, lake, day2, date="2024-05-02")
    code, summary = refine(invoke, lake)
    assert code == 0, summary["problems"]
    assert query(lake, FILME, "SELECT genre_id FROM t") == [(stable_key("western"),)]
    checks = {c["target"]: c for c in summary["checks"] if c["name"] == "rows reconcile"}
    assert checks["fato_filme"]["observed"].startswith("distinct (title, genre) pairs 1 = out 1")
    result = invoke("validate", "--lake", lake, "--format", "json")
    assert result.exit_code == 0, result.output
    covers = [c for c in _json.loads(result.stdout)["checks"] if c["name"] == "fact covers trusted"]
    assert covers and covers[0]["status"] == "pass"


def test_an_artist_takes_the_latest_snapshot_and_ties_always_break_the_same_way(
    invoke: Any, tmp_path: Path
) -> None:
    """Chaplin's death year and directing come with a later day, on another title: DimArtista
    holds the later day's attributes (The Kid, still current, says nothing of them). Edna
    Purviance is credited twice on the later day with different professions: the larger
    (dt, death_year, gender, professions, name) wins, so the longer list."""
    from moviedl.core.sources import MOVIES

    lake = str(tmp_path / "lake")
    days = {
        "2024-05-01": [
            "tt0012349|O Garoto|The Kid|1921|68|Comedy,Drama,Family|8.2|138452|actor|A Tramp|Charles Chaplin|1889|\\N|actor|tt0012349",
            "tt0012349|O Garoto|The Kid|1921|68|Comedy,Drama,Family|8.2|138452|actress|A Woman|Edna Purviance|1895|1958|actress|tt0012349",
        ],
        "2024-05-02": [
            "tt0021749|Luzes da Cidade|City Lights|1931|87|Comedy,Drama,Romance|8.5|201000|actor|A Tramp|Charles Chaplin|1889|1977|actor,director|tt0021749",
            "tt0021749|Luzes da Cidade|City Lights|1931|87|Comedy,Drama,Romance|8.5|201000|actress|A Blind Girl|Virginia Cherrill|1908|1996|actress|tt0021749",
            "tt0009018|Vida de Cachorro|A Dog's Life|1918|33|Comedy|7.5|11000|actress|Bar Singer|Edna Purviance|1895|1958|actress,soundtrack|tt0009018",
            "tt0009018|Vida de Cachorro|A Dog's Life|1918|33|Comedy|7.5|11000|actress|A Girl|Edna Purviance|1895|1958|actress|tt0009018",
        ],
    }
    for day, lines in days.items():
        path = tmp_path / day / "movies.csv"
        path.parent.mkdir()
        path.write_text(MOVIES.header + "\n" + "\n".join(lines) + "\n", "utf-8")
        ingest(invoke, lake, path, date=day)
    code, summary = refine(invoke, lake)
    assert code == 0, summary["problems"]
    assert query(
        lake, ARTISTA, "SELECT name, gender, birth_year, death_year, professions FROM t ORDER BY name"
    ) == [
        ("Charles Chaplin", "actor", 1889, 1977, ["actor", "director"]),
        ("Edna Purviance", "actress", 1895, 1958, ["actress", "soundtrack"]),
        ("Virginia Cherrill", "actress", 1908, 1996, ["actress"]),
    ]
    assert query(lake, ARTISTA, "SELECT artist_id FROM t WHERE name = 'Edna Purviance'") == [
        (stable_key("edna purviance|1895"),)
    ]


def test_an_artist_playing_several_characters_has_one_cast_row_naming_each_once_in_order(
    invoke: Any, tmp_path: Path
) -> None:
    """Peter Sellers plays three parts in Dr. Strangelove (one of them credited twice, one line
    with no character): one FatoElenco row, the distinct characters sorted and joined by ' / '.
    Tracy Reed, credited once, keeps her one character; a credit with none stays NULL."""
    from moviedl.core.sources import MOVIES

    title = "tt0057012|Dr. Fantástico|Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb|1964|95|Comedy,War|8.4|520000"
    credits = [
        "actor|President Merkin Muffley|Peter Sellers|1925|1980|actor,soundtrack|tt0057012",
        "actor|Group Capt. Lionel Mandrake|Peter Sellers|1925|1980|actor,soundtrack|tt0057012",
        "actor|Dr. Strangelove|Peter Sellers|1925|1980|actor,soundtrack|tt0057012",
        "actor|President Merkin Muffley|Peter Sellers|1925|1980|actor,soundtrack|tt0081375",
        "actor|\\N|Peter Sellers|1925|1980|actor,soundtrack|tt0057012",
        "actress|Miss Scott|Tracy Reed|1942|2012|actress|tt0057012",
        "actor|\\N|Stanley Kubrick|1928|1999|director,writer,producer|tt0057012",
    ]
    path = tmp_path / "movies.csv"
    path.write_text(MOVIES.header + "\n" + "\n".join(f"{title}|{c}" for c in credits) + "\n", "utf-8")
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, path)
    code, summary = refine(invoke, lake)
    assert code == 0, summary["problems"]
    names = {
        stable_key("peter sellers|1925"): "Peter Sellers",
        stable_key("tracy reed|1942"): "Tracy Reed",
        stable_key("stanley kubrick|1928"): "Stanley Kubrick",
    }
    cast = query(lake, ELENCO, "SELECT film_id, artist_id, character_name FROM t")
    assert sorted((film, names[artist], character or "") for film, artist, character in cast) == [
        (57012, "Peter Sellers", "Dr. Strangelove / Group Capt. Lionel Mandrake / President Merkin Muffley"),
        (57012, "Stanley Kubrick", ""),
        (57012, "Tracy Reed", "Miss Scott"),
    ]
