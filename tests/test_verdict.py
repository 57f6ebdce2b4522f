"""One verdict: what refine publishes, validate passes.

refine audits with every check validate runs; rows that break a value rule (years, ratings, a
death before a birth, an artist gender other than actor/actress/M/F) are quarantined with their
reason and counted, never published; checks have a severity (error/warn/off) and the quarantined
share a warn/fail threshold, set in moviedl.toml; failed checks show sample rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from moviedl.core.contract import TRUSTED_MOVIES
from moviedl.core.sources import MOVIES, SERIES
from moviedl.engines.duck import DuckDBEngine
from tests.dirty_data import write_file
from tests.test_refine import DAY, DAY2, ingest, query, refine, snapshot, write_csv

# Rows as the original challenge files have them: generoArtista is actor/actress.
CHALLENGE_ROWS = [
    "tt0000009|Miss Jerry|Miss Jerry|1894|45|Romance|5.3|207|actress|Miss Geraldine Holbrook (Miss Jerry)|Blanche Bayliss|1878|1951|actress|tt0000009",
    "tt0000009|Miss Jerry|Miss Jerry|1894|45|Romance|5.3|207|actor|Mr. Hamilton|William Courtenay|1875|1933|actor|tt0000009",
    "tt0000009|Miss Jerry|Miss Jerry|1894|45|Romance|5.3|207|actor|Chauncey Depew - the Director of the New York Central Railroad|Chauncey Depew|1834|1928|actor,writer|tt1076833,tt0490842",
    "tt0000574|The Story of the Kelly Gang|The Story of the Kelly Gang|1906|70|Action,Adventure,Biography|6.0|855|actor|Ned Kelly|Frank Mills|\\N|\\N|actor|tt0000574",
    "tt0000574|The Story of the Kelly Gang|The Story of the Kelly Gang|1906|70|Action,Adventure,Biography|6.0|855|actress|Kate Kelly|Elizabeth Tait|1879|1962|actress|tt0000574",
    "tt0002101|Cleopatra|Cleopatra|1912|100|Drama,History|5.2|566|actress|Cleopatra|Helen Gardner|1884|1968|actress,producer|tt0002101",
    "tt0002101|Cleopatra|Cleopatra|1912|100|Drama,History|5.2|566|actor|Pharon|Pearl Sindelar|1876|1958|actor|tt0002101",
    "tt0002101|Cleopatra|Cleopatra|1912|100|Drama,History|5.2|566|actor|Mark Antony|Charles Sindelar|1875|1947|actor|tt0002101",
    "tt0002130|L'Inferno|L'Inferno|1911|68|Adventure,Drama,Fantasy|7.0|3000|actor|Virgil|Arturo Pirovano|1884|1962|actor|tt0002130",
    "tt0002130|L'Inferno|L'Inferno|1911|68|Adventure,Drama,Fantasy|7.0|3000|actor|Dante|Salvatore Papa|1864|1944|actor|tt0002130",
    "tt0002199|From the Manger to the Cross|From the Manger to the Cross|1912|60|Biography,Drama|5.7|545|actor|Jesus|R. Henderson Bland|1876|1941|actor,writer|tt0002199",
    "tt0002199|From the Manger to the Cross|From the Manger to the Cross|1912|60|Biography,Drama|5.7|545|actress|The Virgin Mary|Gene Gauntier|1885|1966|actress,writer|tt0002199",
    "tt0002423|Passion|Madame DuBarry|1919|113|Biography,Drama,Romance|6.6|994|actress|Jeanne Vaubernier|Pola Negri|1897|1987|actress|tt0002423",
    "tt0002423|Passion|Madame DuBarry|1919|113|Biography,Drama,Romance|6.6|994|actor|Armand de Foix|Harry Liedtke|1882|1945|actor|tt0002423",
    "tt0002423|Passion|Madame DuBarry|1919|113|Biography,Drama,Romance|6.6|994|actor|Louis XV|Emil Jannings|1884|1950|actor|tt0002423",
    "tt0002445|Quo Vadis?|Quo Vadis?|1913|120|Drama,History|6.2|273|actor|Marcus Vinicius|Amleto Novelli|1885|1924|actor|tt0002445",
    "tt0002445|Quo Vadis?|Quo Vadis?|1913|120|Drama,History|6.2|273|actress|Lygia|Lea Giunchi|1884|1959|actress|tt0002445",
    "tt0002452|The Student of Prague|Der Student von Prag|1913|85|Drama,Fantasy,Horror|6.4|2154|actor|Balduin|Paul Wegener|1874|1948|actor,director|tt0002452",
    "tt0002452|The Student of Prague|Der Student von Prag|1913|85|Drama,Fantasy,Horror|6.4|2154|actress|Baronesse Margit Schwarzenberg|Grete Berger|1883|1944|actress|tt0002452",
    "tt0002461|Richard III|Richard III|1912|55|Drama|5.6|238|actor|Richard - Duke of Gloucester|Frederick Warde|1851|1935|actor|tt0002461",
    # the IMDb-derived export has these too: a death year before the birth year...
    "tt0002461|Richard III|Richard III|1912|55|Drama|5.6|238|actor|King Edward IV|Robert Gemp|1871|1858|actor|tt0002461",
]

SERIES_ROWS = [
    "tt0041038|The Lone Ranger|The Lone Ranger|1949|1957|30|Western|7.6|1866|actor|The Lone Ranger|Clayton Moore|1914|1999|actor|tt0041038",
    "tt0041038|The Lone Ranger|The Lone Ranger|1949|1957|30|Western|7.6|1866|actor|Tonto|Jay Silverheels|1912|1980|actor|tt0041038",
    "tt0042114|The Goldbergs|The Goldbergs|1949|1957|30|Comedy,Family|7.0|245|actress|Molly Goldberg|Gertrude Berg|1899|1966|actress,writer|tt0042114",
    "tt0043208|I Love Lucy|I Love Lucy|1951|1957|30|Comedy,Family,Romance|8.5|27000|actress|Lucy Ricardo|Lucille Ball|1911|1989|actress|tt0043208",
    "tt0043208|I Love Lucy|I Love Lucy|1951|1957|30|Comedy,Family,Romance|8.5|27000|actor|Ricky Ricardo|Desi Arnaz|1917|1986|actor|tt0043208",
]


def validate(invoke: Any, lake: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("validate", "--lake", lake, "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def failed(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in summary["checks"] if c["status"] == "fail"]


def config(text: str) -> None:
    Path("moviedl.toml").write_text(text, encoding="utf-8")


def challenge_lake(tmp_path: Path, invoke: Any) -> str:
    lake = str(tmp_path / "lake")
    movies = write_csv(tmp_path / "movies.csv", MOVIES.header, CHALLENGE_ROWS)
    series = write_csv(tmp_path / "series.csv", SERIES.header, SERIES_ROWS)
    ingest(invoke, lake, movies, series)
    return lake


def test_a_death_before_the_birth_is_quarantined_and_validate_agrees(
    tmp_path: Path, invoke: Any
) -> None:
    lake = challenge_lake(tmp_path, invoke)

    code, summary = refine(invoke, lake)

    assert code == 0, summary["problems"]
    assert summary["counts"]["quarantined"] == 1
    assert any(
        "line 22: death_year < birth_year (death_year 1858, birth_year 1871)" in note
        for note in summary["notes"]
    ), summary["notes"]
    quarantine = [c for c in summary["checks"] if c["name"] == "quarantine" and c["status"] == "warn"]
    assert [c["observed"] for c in quarantine] == ["1 of 21 rows (4.8%)"]
    # the bad row is set aside with its line as stored; its title keeps its other rows
    assert query(lake, TRUSTED_MOVIES.quarantine_key(DAY), "SELECT line, raw FROM t") == [
        (22, CHALLENGE_ROWS[-1])
    ]
    titles = query(lake, TRUSTED_MOVIES.data_key(DAY), "SELECT count(*) FROM t WHERE imdb_id = 'tt0002461'")
    assert titles == [(1,)]

    code, checked = validate(invoke, lake)
    assert code == 0, checked["problems"]  # the verdict of refine is the verdict of validate
    assert not failed(checked)


def test_actor_actress_and_m_f_are_accepted_other_genders_are_quarantined(
    tmp_path: Path, invoke: Any
) -> None:
    config("[checks]\nquarantine_fail_share = 1.0\n")
    lake = str(tmp_path / "lake")
    row = "tt0000001|A|A|1990|90|Drama|7.0|100|{}|C|Artist {}|1950|\\N|actor|tt0000001"
    genders = ["actor", "actress", "M", "F", " Actress ", "self", "x"]
    ingest(invoke, lake, write_csv(tmp_path / "movies.csv", MOVIES.header,
                                   [row.format(g, n) for n, g in enumerate(genders)]))

    code, summary = refine(invoke, lake)

    assert code == 0, summary["problems"]
    kept = query(lake, TRUSTED_MOVIES.data_key(DAY), "SELECT artist_gender FROM t ORDER BY artist_name")
    assert [g for (g,) in kept] == ["actor", "actress", "M", "F", " Actress "]
    reasons = query(lake, TRUSTED_MOVIES.quarantine_key(DAY), "SELECT reason FROM t ORDER BY line")
    assert reasons == [
        ("artist_gender not one of actor/actress/M/F (artist_gender self)",),
        ("artist_gender not one of actor/actress/M/F (artist_gender x)",),
    ]
    assert validate(invoke, lake)[0] == 0


def test_a_misparsed_file_fails_the_quarantine_threshold_and_publishes_nothing(
    tmp_path: Path, invoke: Any
) -> None:
    lake = str(tmp_path / "lake")
    # ratings read without their decimal point (a locale mix-up): 5.2 -> 52 on two titles
    rows = [r.replace("|5.2|", "|52|").replace("|6.6|", "|66|") for r in CHALLENGE_ROWS]
    ingest(invoke, lake, write_csv(tmp_path / "movies.csv", MOVIES.header, rows))

    code, summary = refine(invoke, lake)

    assert code == 1
    [problem] = [p for p in summary["problems"] if "quarantine" in p]
    assert "trusted_movies dt=2024-05-01: quarantine: 7 of 21 rows (33.3%)" in problem
    assert "fails above 10%" in problem
    assert snapshot(lake, prefix="Trusted/") == {} and snapshot(lake, prefix="Refined/") == {}


def test_severity_and_thresholds_come_from_moviedl_toml(tmp_path: Path, invoke: Any) -> None:
    lake = challenge_lake(tmp_path, invoke)
    # no TMDB data: coverage is 0%, a warning by default, made an error here
    config('[checks.severity]\n"tmdb coverage" = "error"\n')
    code, summary = refine(invoke, lake)
    assert code == 1
    assert any("dim_filmes: tmdb coverage: 0 of 12 titles (0%)" in p for p in summary["problems"])
    assert snapshot(lake, prefix="Refined/") == {}  # a failed audit publishes nothing
    assert validate(invoke, lake, "--zone", "refined")[0] == 1  # one verdict: validate agrees

    # "off": the rule is enforced nowhere, so the row is published and no check reports it
    config('[checks.severity]\n"value ranges" = "off"\n')
    code, summary = refine(invoke, lake)
    assert code == 0, summary["problems"]
    assert summary["counts"]["quarantined"] == 0
    assert "value ranges" not in {c["name"] for c in summary["checks"]}
    code, checked = validate(invoke, lake)
    assert code == 0 and "value ranges" not in {c["name"] for c in checked["checks"]}

    # a threshold: 1 row of 21 (4.8%) quarantined is within a 5% warning threshold
    config("[checks]\nquarantine_warn_share = 0.05\n")
    code, summary = refine(invoke, lake)
    assert code == 0 and summary["counts"]["quarantined"] == 1
    [share] = [c for c in summary["checks"] if c["name"] == "quarantine" and "movies" in c["target"]]
    assert share["status"] == "pass" and share["observed"] == "1 of 21 rows (4.8%)"


def test_the_environment_sets_severities_too(tmp_path: Path, invoke: Any, monkeypatch: Any) -> None:
    lake = challenge_lake(tmp_path, invoke)
    assert refine(invoke, lake)[0] == 0
    monkeypatch.setenv("MOVIEDL_CHECKS_SEVERITY", "freshness=error")
    code, checked = validate(invoke, lake)
    assert code == 1 and [c["name"] for c in failed(checked)] == ["freshness"]


def test_a_bad_severity_is_a_config_error(tmp_path: Path, invoke: Any) -> None:
    config('[checks.severity]\n"value ranges" = "loud"\n')
    result = invoke("config", "show")
    assert result.exit_code == 2
    assert "levels error, warn or off (not value ranges=loud)" in result.output


def test_failures_show_up_to_five_sample_rows(tmp_path: Path, invoke: Any) -> None:
    """A Trusted partition written by another tool, with deaths before births: validate names
    the offending rows, not only their count."""
    lake = challenge_lake(tmp_path, invoke)
    assert refine(invoke, lake)[0] == 0
    data = Path(lake) / TRUSTED_MOVIES.data_key(DAY)
    DuckDBEngine(duckdb.connect()).write_parquet(  # every column optional, as the contract says
        f"SELECT * REPLACE (CASE WHEN birth_year > 1880 THEN birth_year - 200 "
        f"ELSE birth_year END AS death_year) FROM read_parquet('{data}', hive_partitioning = false)",
        Path(f"{data}.new"),
    )
    Path(f"{data}.new").replace(data)

    code, checked = validate(invoke, lake, "--zone", "trusted")

    assert code == 1, checked["problems"]
    [ranges] = [c for c in failed(checked) if c["name"] == "value ranges"]
    assert ranges["observed"] == "death_year outside 1800–now+10: 9 rows; death_year < birth_year: 9 rows"
    assert len(ranges["samples"]) == 5
    assert len({s.split(":")[0] for s in ranges["samples"]}) == 2  # each broken rule shows rows
    assert "death_year < birth_year: imdb_id=tt0002101, death_year=1684, birth_year=1884" in ranges["samples"]
    problems = checked["problems"]
    at = problems.index(next(p for p in problems if "value ranges" in p))
    assert problems[at + 1 : at + 6] == [f"  e.g. {s}" for s in ranges["samples"]]


def test_run_on_challenge_style_files_exits_0(tmp_path: Path, invoke: Any) -> None:
    movies = write_csv(tmp_path / "movies.csv", MOVIES.header, CHALLENGE_ROWS)
    series = write_csv(tmp_path / "series.csv", SERIES.header, SERIES_ROWS)
    result = invoke("run", movies, series, "--lake", tmp_path / "lake", "--format", "json")
    summary = json.loads(result.stdout)
    assert result.exit_code == 0, summary["problems"]
    assert [r["status"] for r in summary["rows"]] == ["ok", "skipped", "ok", "ok", "skipped", "skipped"]


# --- the property: any file ingest-csv accepts, refine turns into a lake validate passes ------


@pytest.mark.parametrize("seed", range(6))
def test_whatever_ingest_accepts_refine_publishes_and_validate_passes(
    tmp_path: Path, invoke: Any, seed: int
) -> None:
    lake = str(tmp_path / "lake")
    dirty = [0.0, 0.01, 0.03, 0.08, 0.2, 0.5][seed]
    for day, offset in ((DAY, 0), (DAY2, 100)):  # two snapshots: titles change between them
        movies = write_file(tmp_path / "movies.csv", series=False, seed=seed + offset, dirty=dirty)
        series = write_file(tmp_path / "series.csv", series=True, seed=seed + offset, dirty=dirty)
        ingest(invoke, lake, movies, series, date=day)

        # With the default thresholds refine either publishes, or refuses only because too
        # large a share of rows was quarantined (and then publishes nothing of the stage).
        before = snapshot(lake, prefix="Trusted/")
        code, summary = refine(invoke, lake, "--date", day)
        if code != 0:
            assert code == 1 and {c["name"] for c in failed(summary)} == {"quarantine"}
            assert snapshot(lake, prefix="Trusted/") == before
        config("[checks]\nquarantine_fail_share = 1.0\n")  # the property, whatever the share
        code, summary = refine(invoke, lake, "--date", day)
        assert code == 0, summary["problems"]

        code, checked = validate(invoke, lake, "--date", day)
        assert code == 0, checked["problems"]
        assert not failed(checked)
        Path("moviedl.toml").unlink()
