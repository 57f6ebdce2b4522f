"""Raw -> Trusted: typing, duplicates, quarantine, columns by name, TMDB flattening."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from moviedl.core.config import load_settings
from moviedl.core.contract import (
    TRUSTED_MOVIES,
    TRUSTED_SERIES,
    TRUSTED_TMDB_MOVIES,
    TRUSTED_TMDB_SERIES,
)
from moviedl.core.sources import MOVIES
from moviedl.engines.duck import DuckDBEngine, statements
from tests.conftest import list_lake, read_lake_object
from tests.test_refine import (
    DAY,
    ingest,
    lake_of,
    query,
    refine,
    rows_by_table,
    sample_lines,
    write_csv,
)


@pytest.fixture(autouse=True)
def tolerate_quarantine() -> None:
    """These files are tiny: one bad row is more than the default 10% that fails an audit
    (tested in tests/test_verdict.py). Here the subject is what is set aside, and how."""
    Path("moviedl.toml").write_text("[checks]\nquarantine_fail_share = 1.0\n")


# --- TMDB fixtures: what ingest-tmdb stores (TMDB's own answer + imdb_id, media_type, fetched_at)


def tmdb_movie(imdb_id: str, tmdb_id: int, title: str, **fields: Any) -> dict[str, Any]:
    record = {
        "imdb_id": imdb_id,
        "media_type": "movie",
        "fetched_at": "2024-05-01T10:00:00Z",
        "adult": False,
        "id": tmdb_id,
        "title": title,
        "original_title": title,
        "original_language": "en",
        "release_date": "2000-01-01",
        "popularity": 10.5,
        "vote_average": 7.5,
        "vote_count": 1000,
        "genres": [{"id": 18, "name": "Drama"}],
        "budget": 1000000,
        "revenue": 5000000,
        "runtime": 100,
        "status": "Released",
        "external_ids": {"imdb_id": imdb_id},
    }
    record.update(fields)
    return record


def tmdb_tv(imdb_id: str, tmdb_id: int, name: str, **fields: Any) -> dict[str, Any]:
    record = {
        "imdb_id": imdb_id,
        "media_type": "tv",
        "fetched_at": "2024-05-01T10:00:00Z",
        "id": tmdb_id,
        "name": name,
        "original_name": name,
        "original_language": "en",
        "first_air_date": "2000-01-01",
        "last_air_date": "2005-01-01",
        "popularity": 50.0,
        "vote_average": 8.5,
        "vote_count": 5000,
        "genres": [{"id": 18, "name": "Drama"}],
        "number_of_seasons": 3,
        "number_of_episodes": 30,
        "external_ids": {"imdb_id": imdb_id},
    }
    record.update(fields)
    return record


MOVIE_RECORDS = [
    tmdb_movie(
        "tt0012349",
        10098,
        "The Kid",
        release_date="1921-01-21",
        budget=250000,
        revenue=2500000,
        genres=[{"id": 35, "name": "Comedy"}, {"id": 18, "name": "Drama"}],
        runtime=68,
        popularity=12.5,
    ),
    tmdb_movie(
        "tt0015648",
        643,
        "Battleship Potemkin",
        original_title="Bronenosets Potyomkin",
        original_language="ru",
        release_date="",
        budget=0,
        revenue=45100,
        genres=[],
    ),
    tmdb_movie(
        "tt1160419",
        438631,
        "Dune",
        release_date="2021-09-15",
        budget=165000000,
        revenue=402027830,
        genres=[{"id": 878, "name": "Science Fiction"}],
        popularity=88.25,
        vote_average=7.8,
        vote_count=12000,
    ),
]
SERIES_RECORDS = [
    tmdb_tv(
        "tt0903747",
        1396,
        "Breaking Bad",
        first_air_date="2008-01-20",
        last_air_date="2013-09-29",
        number_of_seasons=5,
        number_of_episodes=62,
        genres=[{"id": 18, "name": "Drama"}, {"id": 80, "name": "Crime"}],
    ),
    tmdb_tv(
        "tt0098904",
        1400,
        "Seinfeld",
        first_air_date="1989-07-05",
        last_air_date="",
        genres=[{"id": 35, "name": "Comedy"}],
    ),
]


def lineage(lake_uri: str, key: str, s3: Any = None) -> dict[str, str]:
    """The moviedl key-value metadata of a Parquet object."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.parquet"
        path.write_bytes(read_lake_object(lake_uri, key, s3) or b"")
        found = DuckDBEngine(duckdb.connect()).parquet_metadata(str(path))
    return {k: v for k, v in found.items() if k.startswith("moviedl.")}


def flat(text: str) -> str:
    """CLI output with rich's line wrapping undone (long messages wrap at the console width)."""
    return " ".join(text.split())


def write_tmdb(
    lake_uri: str,
    folder: str,
    records: list[dict[str, Any]],
    *,
    day: str = DAY,
    name: str = "tmdb-00001.json",
) -> str:
    key = f"Raw/TMDB/JSON/{folder}/{day.replace('-', '/')}/{name}"
    lake_of(lake_uri).write_bytes(key, json.dumps(records, ensure_ascii=False).encode())
    return key


# --- CSV ------------------------------------------------------------------------------------------

BAD_ROWS = [
    "tt0000001|Um|One|19x5|90|Drama|7.0|100|M|A|Ator Um|1950|\\N|actor|tt0000001",  # line 2
    "tt0000002|Dois|Two|1990|90|Drama|7,5|100|M|B|Ator Dois|1950|\\N|actor|tt0000002",  # line 3
    "x123|Tres|Three|1990|90|Drama|7.0|100|M|C|Ator Tres|1950|\\N|actor|x123",  # line 4
    "tt0000004|Quatro|Four|1990|90|Drama|7.0|100|M|D|Ator Quatro|1950|\\N|actor|tt0000004",  # line 5
    "tt0000004|Quatro|Four|1990|90|Drama|7.0|100|M|D|Ator Quatro|1950|\\N|actor|tt0000004",  # 6: duplicate
    "tt0000005|Cinco|Five|1990|1990.0|Drama|7.0|1e3|F|E|Atriz Cinco|1950|\\N|actress|tt0000005",  # line 7
]


def test_untypeable_rows_are_quarantined_with_line_and_reason(
    lake_uri: str, s3: Any, invoke: Any, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "movies.csv", MOVIES.header, BAD_ROWS)
    ingest(invoke, lake_uri, source)

    code, summary = refine(invoke, lake_uri, "--stage", "trusted")

    assert code == 0, summary["problems"]  # quarantining is counted and reported, not a failure
    assert rows_by_table(summary) == {f"trusted_movies dt={DAY}": (6, 1, 1, 4)}
    warning = [c for c in summary["checks"] if c["name"] == "quarantine"]
    assert warning and warning[0]["status"] == "warn" and "4 of 6 rows" in warning[0]["observed"]
    assert any("line 2: anoLancamento '19x5' is not a whole number" in n for n in summary["notes"])

    key = TRUSTED_MOVIES.quarantine_key(DAY)
    assert key == f"_moviedl/quarantine/Local/Movies/dt={DAY}/quarantine.parquet"
    raw_key = MOVIES.raw_key(dt.date.fromisoformat(DAY))
    assert query(lake_uri, key, "SELECT * FROM t ORDER BY line", s3) == [
        (raw_key, 2, BAD_ROWS[0], "anoLancamento '19x5' is not a whole number"),
        (raw_key, 3, BAD_ROWS[1], "notaMedia '7,5' is not a decimal number"),
        (raw_key, 4, BAD_ROWS[2], "id 'x123' is not an IMDb id (tt + 7 or more digits)"),
        (
            raw_key,
            7,
            BAD_ROWS[5],
            "tempoMinutos '1990.0' is not a whole number; numeroVotos '1e3' is not a whole number",
        ),
    ]
    assert query(lake_uri, TRUSTED_MOVIES.data_key(DAY), "SELECT imdb_id, title FROM t", s3) == [
        ("tt0000004", "Quatro")
    ]
    # the file itself records how its rows reconcile with the Raw file, for any later reader
    assert lineage(lake_uri, TRUSTED_MOVIES.data_key(DAY), s3) == {
        "moviedl.sources": raw_key,
        "moviedl.rows_read": "6",
        "moviedl.duplicates": "1",
        "moviedl.quarantined": "4",
    }


def test_fixed_rows_clear_the_quarantine(tmp_path: Path, invoke: Any) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, write_csv(tmp_path / "movies.csv", MOVIES.header, BAD_ROWS))
    assert refine(invoke, lake, "--stage", "trusted")[0] == 0
    fixed = write_csv(tmp_path / "fixed.csv", MOVIES.header, [BAD_ROWS[3]])
    assert (
        invoke("ingest-csv", fixed, "--lake", lake, "--date", DAY, "--overwrite", "-q").exit_code
        == 0
    )

    code, summary = refine(invoke, lake, "--stage", "trusted")

    assert code == 0 and rows_by_table(summary) == {f"trusted_movies dt={DAY}": (1, 1, 0, 0)}
    assert not list_lake(lake, prefix="_moviedl/quarantine/")


WHOLE_NUMBERS = [
    "5", "+5", "-5", "0", "-0", "+0", "00", "0005", "2147483647", "2147483648", "-2147483648",
    "-2147483649", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "99999999999", "1990.0", "1.5", "1.", ".5", "1e3", "1E3", "0x10", "1_000", "1,000", "1 000",
    " 5", "5 ", "\t5", "5\n", "", "\\N", "NULL", "abc", "inf", "nan", "١٢٣", "５", "²",
]


def test_whole_numbers_are_exactly_digits_with_an_optional_sign() -> None:
    """as_int/as_bigint (sql/trusted_csv.sql) take the TRY_CAST shortcut for values that print as
    themselves; the rule they must keep: the text matches [+-]?[0-9]{1,N}, then TRY_CAST."""
    engine = DuckDBEngine.open(load_settings(), Path(tempfile.mkdtemp()))
    try:
        engine.execute("CREATE OR REPLACE TEMP MACRO csv_row_problems(r) AS CAST(NULL AS VARCHAR)")
        for statement in statements("trusted_csv"):
            if "MACRO" in statement:
                engine.execute(statement)
        got = engine.con.execute(
            "SELECT v, as_int(v), as_bigint(v) FROM unnest($v) AS t(v)", {"v": WHOLE_NUMBERS}
        ).fetchall()
        rule = engine.con.execute(
            "SELECT v, CASE WHEN regexp_full_match(v, '[+-]?[0-9]{1,10}') THEN TRY_CAST(v AS INTEGER) END, "
            "CASE WHEN regexp_full_match(v, '[+-]?[0-9]{1,19}') THEN TRY_CAST(v AS BIGINT) END "
            "FROM unnest($v) AS t(v)", {"v": WHOLE_NUMBERS}
        ).fetchall()
    finally:
        engine.close()
    assert got == rule
    typed = {v: (i, b) for v, i, b in got}
    assert typed["+5"] == (5, 5) and typed["0005"] == (5, 5) and typed["-0"] == (0, 0)
    assert typed["2147483648"] == (None, 2147483648) and typed["9223372036854775808"] == (None, None)
    assert all(typed[v] == (None, None) for v in ("1990.0", "1e3", "0x10", "1_000", " 5", "\\N", "١٢٣", "５"))


def test_trusted_rows_are_typed_split_and_nulled(
    tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv, series_csv)
    assert refine(invoke, lake, "--stage", "trusted")[0] == 0
    movies, series = TRUSTED_MOVIES.data_key(DAY), TRUSTED_SERIES.data_key(DAY)

    assert query(lake, movies, "SELECT column_name, column_type FROM (DESCRIBE t)") == list(
        TRUSTED_MOVIES.schema
    )
    assert query(lake, series, "SELECT column_name, column_type FROM (DESCRIBE t)") == list(
        TRUSTED_SERIES.schema
    )
    assert query(
        lake, movies, "SELECT title, character_name FROM t WHERE artist_name = 'Paul Hogan'"
    ) == [
        ('"Crocodile" Dundee', 'Michael J. "Crocodile" Dundee'),  # '"' is data, never a quote
    ]
    kid = query(
        lake,
        movies,
        "SELECT release_year, runtime_minutes, genres, imdb_rating, imdb_votes, birth_year, "
        "death_year, professions, known_for_titles FROM t WHERE artist_name = 'Charles Chaplin' "
        "AND imdb_id = 'tt0012349'",
    )
    assert kid == [
        (
            1921,
            68,
            ["Comedy", "Drama", "Family"],
            8.2,
            138452,
            1889,
            1977,
            ["actor", "composer", "director"],
            ["tt0012349", "tt0032553", "tt0027977", "tt0021749"],
        )
    ]
    assert query(
        lake,
        movies,
        "SELECT runtime_minutes, genres, imdb_rating, imdb_votes FROM t "
        "WHERE imdb_id = 'tt19850008' LIMIT 1",
    ) == [(None, None, None, None)]
    assert query(lake, series, "SELECT DISTINCT end_year FROM t WHERE imdb_id = 'tt0096697'") == [
        (None,)
    ]
    assert query(lake, series, "SELECT DISTINCT end_year FROM t WHERE imdb_id = 'tt0098904'") == [
        (1998,)
    ]
    assert query(lake, movies, "SELECT count(*) FROM t WHERE imdb_id = 'tt0317248'") == [
        (5,)
    ]  # 6 lines, 1 duplicate


KID = "tt0012349|O Garoto|The Kid|1921|68|Comedy,Drama|8.2|138452|{gender}|A Tramp|Charles Chaplin|1889|1977|actor|tt0012349"
#: Lines that differ only where typing cannot tell them apart ('01921' and '1921' are both 1921;
#: '' and '\N' are both NULL; '-0.0' and '0.0' are equal numbers), with two true duplicates.
LOOKALIKES = [
    KID.format(gender="actor"),  # line 2
    KID.format(gender="actor"),  # line 3: a duplicate of line 2
    KID.format(gender="actor").replace("|1921|", "|01921|"),
    KID.format(gender="actor").replace("|A Tramp|", "||"),
    KID.format(gender="actor").replace("|8.2|", "|8.20|"),
    KID.format(gender="actor").replace("|138452|", "|+138452|"),
    KID.format(gender="actor").replace("|8.2|", "|0.0|"),
    KID.format(gender="actor").replace("|8.2|", "|-0.0|"),
    KID.format(gender="actress"),  # the challenge files' actor/actress, not M/F
    KID.format(gender="actress"),  # a duplicate of the line above
    KID.format(gender="M"),
]


@pytest.mark.parametrize("key", ["hash(raw)", "0"], ids=["64-bit hash", "every line collides"])
def test_only_byte_identical_lines_are_duplicates(
    tmp_path: Path, invoke: Any, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    """Duplicates are grouped by a 64-bit hash first, then by the line itself: even if every
    line's hash collided (a constant key), only the two pairs of identical lines are merged."""
    import moviedl.engines.duck as duck_module

    real = duck_module.sql_for

    def sql_for(name: str, engine: str) -> str:
        text = real(name, engine)
        if name == "trusted_csv":
            assert "hash(raw) AS row_hash" in text
            text = text.replace("hash(raw) AS row_hash", f"{key} AS row_hash")
        return text

    monkeypatch.setattr(duck_module, "sql_for", sql_for)
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, write_csv(tmp_path / "movies.csv", MOVIES.header, LOOKALIKES))
    code, summary = refine(invoke, lake, "--stage", "trusted")
    assert code == 0, summary["problems"]
    assert rows_by_table(summary) == {f"trusted_movies dt={DAY}": (11, 9, 2, 0)}
    assert query(
        lake, TRUSTED_MOVIES.data_key(DAY),
        "SELECT release_year, character_name, CAST(imdb_rating AS VARCHAR), imdb_votes, artist_gender FROM t",
    ) == [  # the first copy of each line, in file order
        (1921, "A Tramp", "8.2", 138452, "actor"),
        (1921, "A Tramp", "8.2", 138452, "actor"),
        (1921, None, "8.2", 138452, "actor"),
        (1921, "A Tramp", "8.2", 138452, "actor"),
        (1921, "A Tramp", "8.2", 138452, "actor"),
        (1921, "A Tramp", "0.0", 138452, "actor"),
        (1921, "A Tramp", "-0.0", 138452, "actor"),
        (1921, "A Tramp", "8.2", 138452, "actress"),
        (1921, "A Tramp", "8.2", 138452, "M"),
    ]


@pytest.mark.parametrize(
    ("genero", "expected"),
    [
        ("Comedy,Drama", ["Comedy", "Drama"]),
        (" Comedy , Drama ", ["Comedy", "Drama"]),
        ("Comedy,,Drama,", ["Comedy", "Drama"]),
        (",Comedy", ["Comedy"]),
        ("Comédia, Drama", ["Comédia", "Drama"]),
        ("Comedy\u00a0,\u00a0Drama", ["Comedy", "Drama"]),  # no-break spaces trim too
        ("Sci-Fi\tNoir,Drama", ["Sci-Fi\tNoir", "Drama"]),  # a tab is data, as before
        (" , ", []),
    ],
)
def test_list_items_are_trimmed_and_empty_ones_dropped(
    tmp_path: Path, invoke: Any, movies_csv: Path, genero: str, expected: list[str]
) -> None:
    """The common shape (plain ASCII, no space, no empty item) takes a faster path; every other
    shape must still be trimmed and cleaned exactly the same way."""
    header, body = sample_lines(movies_csv)
    names = header.split("|")
    fields = body[0].split("|")
    fields[names.index("genero")] = genero
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, write_csv(tmp_path / "movies.csv", header, ["|".join(fields)]))
    assert refine(invoke, lake, "--stage", "trusted")[0] == 0
    assert query(lake, TRUSTED_MOVIES.data_key(DAY), "SELECT genres FROM t") == [(expected,)]


def test_columns_are_matched_by_header_name_not_position(
    tmp_path: Path, invoke: Any, movies_csv: Path
) -> None:
    """A Raw file written by another tool with its columns in another order types the same."""
    ordered, reordered = str(tmp_path / "a"), str(tmp_path / "b")
    ingest(invoke, ordered, movies_csv)
    header, body = sample_lines(movies_csv)
    order = list(reversed(range(len(header.split("|")))))
    shuffle = lambda line: "|".join(line.split("|")[i] for i in order)
    key = MOVIES.raw_key(dt.date.fromisoformat(DAY))
    lake_of(reordered).write_bytes(
        key, ("\n".join(shuffle(x) for x in [header, *body]) + "\n").encode()
    )

    assert refine(invoke, ordered, "--stage", "trusted")[0] == 0
    code, summary = refine(invoke, reordered, "--stage", "trusted")

    assert code == 0
    assert any("no ingest-csv manifest" in note for note in summary["notes"])
    everything = "SELECT * FROM t"
    assert query(reordered, TRUSTED_MOVIES.data_key(DAY), everything) == query(
        ordered, TRUSTED_MOVIES.data_key(DAY), everything
    )


def test_crlf_line_endings_leave_no_carriage_return_in_the_data(
    tmp_path: Path, invoke: Any, movies_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    crlf = tmp_path / "movies.csv"
    crlf.write_bytes(movies_csv.read_bytes().replace(b"\n", b"\r\n"))
    ingest(invoke, lake, crlf)
    assert refine(invoke, lake, "--stage", "trusted")[0] == 0
    assert query(
        lake,
        TRUSTED_MOVIES.data_key(DAY),
        "SELECT count(*) FROM t WHERE list_contains(known_for_titles, 'tt0012349')",
    ) == [(4,)]
    assert query(
        lake,
        TRUSTED_MOVIES.data_key(DAY),
        "SELECT count(*) FROM t WHERE array_to_string(known_for_titles, ',') LIKE '%\r%'",
    ) == [(0,)]


def test_a_raw_file_with_a_broken_line_is_refused_naming_the_file(
    tmp_path: Path, invoke: Any, movies_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    header, body = sample_lines(movies_csv)
    key = MOVIES.raw_key(dt.date.fromisoformat(DAY))
    lake_of(lake).write_bytes(
        key, ("\n".join([header, *body[:3], "tt0000009|only|three"]) + "\n").encode()
    )

    result = invoke("refine", "--lake", lake)

    assert result.exit_code == 2
    assert "movies.csv" in result.output and "ingest-csv --overwrite" in flat(result.output)
    assert not list_lake(lake, prefix="Trusted/")


def test_a_raw_file_missing_a_column_is_refused(
    tmp_path: Path, invoke: Any, movies_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    header, body = sample_lines(movies_csv)
    cut = lambda line: "|".join(line.split("|")[:-1])
    lake_of(lake).write_bytes(
        MOVIES.raw_key(dt.date.fromisoformat(DAY)),
        ("\n".join(cut(x) for x in [header, *body]) + "\n").encode(),
    )
    result = invoke("refine", "--lake", lake)
    assert result.exit_code == 2
    assert "line 1: the header lacks titulosMaisConhecidos" in flat(result.output)


# --- TMDB -----------------------------------------------------------------------------------------


def test_tmdb_answers_are_flattened_one_row_per_title(
    lake_uri: str, s3: Any, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    ingest(invoke, lake_uri, movies_csv, series_csv)
    later = tmdb_movie(
        "tt0012349",
        10098,
        "The Kid",
        fetched_at="2024-05-01T12:00:00+00:00",
        popularity=13.0,
        budget=250000,
        revenue=0,
        release_date="1921-01-21",
    )
    bad = tmdb_movie("tt0017136", 19, "Metropolis", release_date="1927-02-30")
    write_tmdb(lake_uri, "Movies", MOVIE_RECORDS)
    write_tmdb(lake_uri, "Movies", [later, bad], name="tmdb-00002.json")
    write_tmdb(lake_uri, "Series", SERIES_RECORDS)

    code, summary = refine(invoke, lake_uri, "--stage", "trusted")

    assert code == 0, summary["problems"]
    rows = rows_by_table(summary)
    assert rows[f"trusted_tmdb_movies dt={DAY}"] == (5, 3, 1, 1)
    assert lineage(lake_uri, TRUSTED_TMDB_MOVIES.data_key(DAY), s3) == {
        "moviedl.sources": "Raw/TMDB/JSON/Movies/2024/05/01/tmdb-00001.json,"
        "Raw/TMDB/JSON/Movies/2024/05/01/tmdb-00002.json",
        "moviedl.rows_read": "5",
        "moviedl.duplicates": "1",
        "moviedl.quarantined": "1",
    }
    assert rows[f"trusted_tmdb_series dt={DAY}"] == (2, 2, 0, 0)
    movies = TRUSTED_TMDB_MOVIES.data_key(DAY)
    assert query(lake_uri, movies, "SELECT column_name, column_type FROM (DESCRIBE t)", s3) == list(
        TRUSTED_TMDB_MOVIES.schema
    )
    assert query(
        lake_uri,
        movies,
        "SELECT imdb_id, tmdb_id, release_date, budget, revenue, genres, popularity, "
        "fetched_at FROM t ORDER BY imdb_id",
        s3,
    ) == [
        (
            "tt0012349",
            10098,
            dt.date(1921, 1, 21),
            250000,
            None,
            ["Drama"],
            13.0,
            dt.datetime(2024, 5, 1, 12),
        ),
        ("tt0015648", 643, None, None, 45100, [], 10.5, dt.datetime(2024, 5, 1, 10)),
        (
            "tt1160419",
            438631,
            dt.date(2021, 9, 15),
            165000000,
            402027830,
            ["Science Fiction"],
            88.25,
            dt.datetime(2024, 5, 1, 10),
        ),
    ]
    series = TRUSTED_TMDB_SERIES.data_key(DAY)
    assert query(
        lake_uri,
        series,
        "SELECT imdb_id, name, first_air_date, last_air_date, number_of_seasons, "
        "genres FROM t ORDER BY imdb_id",
        s3,
    ) == [
        ("tt0098904", "Seinfeld", dt.date(1989, 7, 5), None, 3, ["Comedy"]),
        (
            "tt0903747",
            "Breaking Bad",
            dt.date(2008, 1, 20),
            dt.date(2013, 9, 29),
            5,
            ["Drama", "Crime"],
        ),
    ]
    quarantined = query(lake_uri, TRUSTED_TMDB_MOVIES.quarantine_key(DAY), "SELECT * FROM t", s3)
    assert [(q[0].rsplit("/", 1)[-1], q[1], q[3]) for q in quarantined] == [
        ("tmdb-00002.json", 2, "release_date '1927-02-30' is not a date"),
    ]
    assert json.loads(quarantined[0][2])["imdb_id"] == "tt0017136"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": None}, "id is missing (not a TMDB title record)"),
        ({"imdb_id": "12349"}, "imdb_id '12349' is not an IMDb id"),
        ({"media_type": "tv"}, "media_type 'tv' in a movie file"),
        ({"vote_count": "many"}, "vote_count 'many' is not a whole number"),
        ({"budget": 1.5}, "budget '1.5' is not a whole number"),
    ],
)
def test_tmdb_records_that_cannot_be_typed_are_quarantined(
    record: dict[str, Any], reason: str, tmp_path: Path, invoke: Any, movies_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv)
    write_tmdb(lake, "Movies", [MOVIE_RECORDS[0], {**MOVIE_RECORDS[2], **record}])
    code, summary = refine(invoke, lake, "--stage", "trusted")
    assert code == 0
    assert rows_by_table(summary)[f"trusted_tmdb_movies dt={DAY}"] == (2, 1, 0, 1)
    assert query(lake, TRUSTED_TMDB_MOVIES.quarantine_key(DAY), "SELECT reason FROM t") == [
        (reason,)
    ]


def test_a_damaged_tmdb_file_is_refused_naming_its_folder(
    tmp_path: Path, invoke: Any, movies_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    ingest(invoke, lake, movies_csv)
    key = write_tmdb(lake, "Movies", MOVIE_RECORDS)
    lake_of(lake).write_bytes(key, b'[{"id": 1, "imdb_id": "tt0012349"')
    result = invoke("refine", "--lake", lake)
    assert result.exit_code == 2
    assert (
        "Raw/TMDB/JSON/Movies/2024/05/01" in flat(result.output) and "ingest-tmdb" in result.output
    )
