"""Readers never see a broken foreign key: expand / publish facts / contract (issue 11, point 5).

The lake: a first date with three titles, then a second date where an artist's name is corrected
and a title moves to another genre, and a corrected first date that drops a title. Keys of the
old facts then disappear from every new dimension — a film, two genres, two artists. Publishing
is killed (``kill -9``) at each step in turn; the published Parquet files, read with DuckDB alone,
must resolve every foreign key, and the next run must converge to exactly the new tables.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from moviedl.stages.refine.publish import VERSIONS_PREFIX, Publisher
from tests.conftest import list_lake, read_lake_object, refine_killed_at
from tests.test_refine import (
    DAY,
    DAY2,
    REFINED_KEYS,
    ingest,
    refine,
    sample_lines,
    snapshot,
    write_csv,
)

ROW = "tt{id:07d}|{title}|{title}|{year}|90|{genre}|7.5|100|{gender}|{role}|{name}|{born}|\\N|{job}|tt{id:07d}"


def row(id: int, title: str, year: int, genre: str, name: str, born: int, gender: str = "F") -> str:
    job = "actress" if gender == "F" else "actor"
    return ROW.format(
        id=id, title=title, year=year, genre=genre, gender=gender, role="Role", name=name,
        born=born, job=job,
    )


ALFA_ANA = row(1000001, "Alfa", 1950, "Noir", "Ana Velha", 1920)
ALFA_BETO = row(1000001, "Alfa", 1950, "Noir", "Beto Alves", 1925, "M")
BETA_BRUNO = row(1000002, "Beta", 1960, "Comedy", "Bruno Lima", 1930, "M")
GAMA_CARLA = row(1000003, "Gama", 1970, "Drama", "Carla Dias", 1940)
GAMA_BETO = row(1000003, "Gama", 1970, "Drama", "Beto Alves", 1925, "M")
DAY1 = [ALFA_ANA, ALFA_BETO, BETA_BRUNO, GAMA_CARLA, GAMA_BETO]
# The first date corrected (ingest-csv --overwrite): Beta was never a title of that day.
DAY1_FIXED = [ALFA_ANA, ALFA_BETO, GAMA_CARLA, GAMA_BETO]
# The second date: Ana Velha is really Ana Vieira, Alfa is a Drama, not a Noir, and Gama, now
# restored, is a Thriller too (so each dimension also changes rows it keeps: its expanded
# version differs from the published one).
DAY2_ROWS = [
    ALFA_ANA.replace("Ana Velha", "Ana Vieira").replace("|Noir|", "|Drama|"),
    ALFA_BETO.replace("|Noir|", "|Drama|"),
    *(r.replace("|Gama|Gama|", "|Gama (restored)|Gama (restored)|").replace("|Drama|", "|Drama,Thriller|")
      for r in (GAMA_CARLA, GAMA_BETO)),
]
# The second date with Gama as it was: the dimensions lose keys but change no row they keep, so
# the published Refined tables already hold every row an expansion of DimFilmes or DimGenero
# would (the very same bytes).
DAY2_KEPT = [
    ALFA_ANA.replace("Ana Velha", "Ana Vieira").replace("|Noir|", "|Drama|"),
    ALFA_BETO.replace("|Noir|", "|Drama|"),
    GAMA_CARLA,
    GAMA_BETO,
]
# A second date where nothing disappears: one more title, with a new genre and a new artist.
DAY2_GROWN = [*DAY1, row(1000004, "Delta", 1980, "Western", "Dora Reis", 1950)]

# The foreign keys of the star schema, written out here so that the check owes nothing to moviedl.
FOREIGN_KEYS = {
    "FatoFilme.film_id -> DimFilmes": ("FatoFilme", "film_id", "DimFilmes", "film_id"),
    "FatoFilme.genre_id -> DimGenero": ("FatoFilme", "genre_id", "DimGenero", "genre_id"),
    "FatoElenco.film_id -> DimFilmes": ("FatoElenco", "film_id", "DimFilmes", "film_id"),
    "FatoElenco.artist_id -> DimArtista": ("FatoElenco", "artist_id", "DimArtista", "artist_id"),
}
RESOLVED: dict[str, list[int]] = {name: [] for name in FOREIGN_KEYS}
DIMS = ("DimFilmes", "DimGenero", "DimArtista")
FACTS = ("FatoFilme", "FatoElenco")
# Every publish step of the run above, in order: each dimension expanded, the facts, the contract.
STEPS = [
    "staged",
    "archived:dim_filmes",
    "expanded:dim_filmes",
    "archived:dim_genero",
    "expanded:dim_genero",
    "archived:dim_artista",
    "expanded:dim_artista",
    "archived:fato_filme",
    "switched:fato_filme",
    "archived:fato_elenco",
    "switched:fato_elenco",
    "switched:dim_filmes",
    "switched:dim_genero",
    "switched:dim_artista",
]
# The same run when no key disappears: the steps publishing had before expand existed.
PLAIN_STEPS = [
    "staged",
    *[f"{step}:{table}" for table in ("dim_filmes", "dim_genero", "dim_artista", "fato_filme",
                                      "fato_elenco") for step in ("archived", "switched")],
]
STRUCTURAL_CHECKS = {"readable", "schema", "not null", "primary key", "unique", "foreign key"}
_expected: dict[str, dict[str, bytes]] = {}


# --- helpers ------------------------------------------------------------------------------------


def movies(tmp_path: Path, name: str, rows: list[str]) -> Path:
    header, _body = sample_lines(Path(__file__).parents[1] / "moviedl" / "samples" / "movies.csv")
    folder = tmp_path / name
    folder.mkdir()
    return write_csv(folder / "movies.csv", header, rows)


def refined_tables(lake_uri: str, s3: Any) -> dict[str, bytes]:
    """Folder name -> bytes of every published Refined table, read without moviedl's code."""
    tables = {}
    for key in REFINED_KEYS:
        data = read_lake_object(lake_uri, key, s3)
        assert data is not None, f"{key} is not in the lake"
        tables[key.split("/")[1]] = data
    return tables


def dangling(tables: dict[str, bytes]) -> dict[str, list[int]]:
    """For each foreign key, the keys of the fact that its dimension lacks — DuckDB alone."""
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect()
        for folder, data in tables.items():
            path = Path(tmp) / f"{folder}.parquet"
            path.write_bytes(data)
            con.sql("SELECT * FROM read_parquet($p)", params={"p": str(path)}).create_view(folder)
        return {
            name: [
                key
                for (key,) in con.execute(
                    f"SELECT DISTINCT f.{column} FROM {fact} AS f "
                    f"ANTI JOIN {dim} AS d ON f.{column} = d.{parent} ORDER BY 1"
                ).fetchall()
            ]
            for name, (fact, column, dim, parent) in FOREIGN_KEYS.items()
        }


def versions(lake_uri: str, s3: Any) -> list[str]:
    """Archived versions of Refined tables."""
    return list_lake(lake_uri, s3, f"{VERSIONS_PREFIX}/Refined/")


def prepare(invoke: Any, lake_uri: str, tmp_path: Path, day2: list[str] = DAY2_ROWS) -> None:
    """A published lake from DAY1, then the new Raw files refined into Trusted only."""
    ingest(invoke, lake_uri, movies(tmp_path, "day1", DAY1))
    code, summary = refine(invoke, lake_uri)
    assert code == 0, summary["problems"]
    ingest(invoke, lake_uri, movies(tmp_path, "day2", day2), date=DAY2)
    if day2 is DAY2_ROWS or day2 is DAY2_KEPT:
        fixed = movies(tmp_path, "day1-fixed", DAY1_FIXED)
        result = invoke("ingest-csv", fixed, "--lake", lake_uri, "--date", DAY, "--overwrite",
                        "--quiet")
        assert result.exit_code == 0, result.output
        assert refine(invoke, lake_uri, "--stage", "trusted", "--date", DAY)[0] == 0
    assert refine(invoke, lake_uri, "--stage", "trusted", "--date", DAY2)[0] == 0


def expected_refined(invoke: Any, tmp_path: Path) -> dict[str, bytes]:
    """The Refined zone a fresh lake gets from the final Raw files (built once)."""
    if not _expected:
        clean = str(tmp_path / "clean")
        ingest(invoke, clean, movies(tmp_path, "clean-day1", DAY1_FIXED))
        ingest(invoke, clean, movies(tmp_path, "clean-day2", DAY2_ROWS), date=DAY2)
        assert refine(invoke, clean)[0] == 0
        _expected.update(snapshot(clean, prefix="Refined/"))
    return _expected


def record_steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    steps: list[str] = []
    monkeypatch.setattr(Publisher, "_at_step", lambda self, point: steps.append(point))
    return steps


# --- tests --------------------------------------------------------------------------------------


def test_a_disappearing_key_is_kept_until_the_facts_no_longer_use_it(
    lake_uri: str, s3: Any, invoke: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(invoke, lake_uri, tmp_path)
    old = refined_tables(lake_uri, s3)
    steps = record_steps(monkeypatch)

    code, summary = refine(invoke, lake_uri, "--stage", "refined")

    assert code == 0, summary["problems"]
    assert steps == STEPS
    new = refined_tables(lake_uri, s3)
    assert snapshot(lake_uri, s3, "Refined/") == expected_refined(invoke, tmp_path)
    # Without the expand step a reader would have joined old facts with new dimensions:
    mixed = dangling({**{d: new[d] for d in DIMS}, **{f: old[f] for f in FACTS}})
    assert all(mixed.values()), mixed  # a film, two genres and two artists disappear
    assert len(mixed["FatoElenco.artist_id -> DimArtista"]) == 2
    assert len(mixed["FatoFilme.genre_id -> DimGenero"]) == 2
    assert dangling(new) == RESOLVED
    # One archived version per table — the one readers had before, never the expanded one.
    kept = versions(lake_uri, s3)
    assert [key.split("/")[3] for key in kept] == ["DimArtista", "DimFilmes", "DimGenero",
                                                   "FatoElenco", "FatoFilme"]
    assert {key.split("/")[3]: read_lake_object(lake_uri, key, s3) for key in kept} == old
    assert {r["status"] for r in summary["rows"]} == {"published"}
    assert sum("row(s) no longer built but used by the published facts" in n
               for n in summary["notes"]) == 3
    assert invoke("validate", "--lake", lake_uri).exit_code == 0


@pytest.mark.parametrize("crash_at", STEPS)
def test_kill_9_at_any_publish_step_leaves_every_foreign_key_resolvable(
    crash_at: str, lake_uri: str, s3: Any, invoke: Any, tmp_path: Path
) -> None:
    prepare(invoke, lake_uri, tmp_path)
    old = refined_tables(lake_uri, s3)

    refine_killed_at(crash_at, "--stage", "refined", "--lake", lake_uri)

    assert [k for k in list_lake(lake_uri, s3, "Refined/")] == sorted(REFINED_KEYS)
    published = refined_tables(lake_uri, s3)
    assert dangling(published) == RESOLVED
    changed = {name for name, data in published.items() if data != old[name]}
    expanded = STEPS.index(crash_at) >= STEPS.index("expanded:dim_filmes")
    assert ("DimFilmes" in changed) == expanded
    # An expanded dimension may have rows no fact uses ("parent covered"), and old facts do not
    # match the new Trusted zone, but whatever validate checks of each table's structure holds.
    result = invoke("validate", "--lake", lake_uri, "--zone", "refined", "--format", "json")
    failed = {c["name"] for c in json.loads(result.stdout)["checks"] if c["status"] == "fail"}
    assert not failed & STRUCTURAL_CHECKS, failed

    code, summary = refine(invoke, lake_uri, "--stage", "refined")

    assert code == 0, summary["problems"]
    assert snapshot(lake_uri, s3, "Refined/") == expected_refined(invoke, tmp_path)
    assert dangling(refined_tables(lake_uri, s3)) == RESOLVED
    validated = invoke("validate", "--lake", lake_uri)
    assert validated.exit_code == 0, validated.output


def test_a_published_version_that_already_holds_the_expansion_is_still_archived(
    lake_uri: str, s3: Any, invoke: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing to switch in first for DimFilmes and DimGenero (the lake holds every row their
    expansion would), so they are archived when the staged version replaces them."""
    prepare(invoke, lake_uri, tmp_path, day2=DAY2_KEPT)
    old = refined_tables(lake_uri, s3)
    steps = record_steps(monkeypatch)

    code, summary = refine(invoke, lake_uri, "--stage", "refined")

    assert code == 0, summary["problems"]
    assert steps == ["staged", "archived:dim_artista", "expanded:dim_artista",
                     "archived:fato_filme", "switched:fato_filme", "archived:fato_elenco",
                     "switched:fato_elenco", "archived:dim_filmes", "switched:dim_filmes",
                     "archived:dim_genero", "switched:dim_genero", "switched:dim_artista"]
    kept = versions(lake_uri, s3)
    assert {key.split("/")[3]: read_lake_object(lake_uri, key, s3) for key in kept} == old
    assert dangling(refined_tables(lake_uri, s3)) == RESOLVED


def test_no_expand_step_when_no_key_disappears(
    lake_uri: str, s3: Any, invoke: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(invoke, lake_uri, tmp_path, day2=DAY2_GROWN)
    old = refined_tables(lake_uri, s3)
    steps = record_steps(monkeypatch)

    code, summary = refine(invoke, lake_uri, "--stage", "refined")

    assert code == 0, summary["problems"]
    assert steps == PLAIN_STEPS  # every table changed; none expanded
    new = refined_tables(lake_uri, s3)
    assert all(new[name] != old[name] for name in old)
    assert dangling({**{d: new[d] for d in DIMS}, **{f: old[f] for f in FACTS}}) == RESOLVED
    assert len(versions(lake_uri, s3)) == 5
    assert not [n for n in summary["notes"] if "no longer built" in n]
    assert not [k for k in list_lake(lake_uri, s3, "_moviedl/") if "/staging/" in k]
