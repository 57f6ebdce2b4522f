"""Seeded random movies.csv / series.csv files of the challenge's shape, clean and dirty.

Every file is one that ``ingest-csv`` accepts (UTF-8, the header, '|' and 15/16 fields on every
row), but its values are what real IMDb-derived exports hold and worse: ``\\N`` and empty fields,
``actor``/``actress`` and ``M``/``F`` genders and others, deaths before births, ratings above 10,
negative counts, years from the far past or future, numbers that do not type (``7,5``, ``1e3``),
malformed ids, exact duplicate lines, titles whose rows disagree, accents and quotes.
"""

from __future__ import annotations

import random
from pathlib import Path

from moviedl.core.sources import MOVIES, SERIES

NULL = "\\N"
GENRES = ["Drama", "Comedy", "Crime", "Romance", "Action", "Sci-Fi", "Documentary", "Animation"]
NAMES = ["Ana Souza", "João Silva", "Zoë Kravitz", "Bruce O'Neil", 'Ed "Kid" Wood', "Björk", "李 小龍"]
PROFESSIONS = ["actor", "actress", "director", "writer", "producer"]


def _pick(rng: random.Random, clean: str, dirty: list[str], p: float) -> str:
    return rng.choice(dirty) if rng.random() < p else clean


def _row(rng: random.Random, imdb_id: str, series: bool, p: float) -> list[str]:
    year = rng.randint(1920, 2024)
    birth = rng.randint(1900, 2000)
    death = rng.choice([NULL, NULL, str(birth + rng.randint(20, 90))])
    fields = [
        _pick(rng, imdb_id, ["x" + imdb_id[2:], "tt12", "", NULL], p / 3),
        _pick(rng, f"Título {imdb_id[-3:]}", ["", NULL, 'The "Quoted"', "  spaced  "], p),
        _pick(rng, f"Title {imdb_id[-3:]}", ["", NULL], p),
        _pick(rng, str(year), ["1799", "2999", "19x5", "-5", NULL, ""], p),
    ]
    if series:
        fields.append(_pick(rng, rng.choice([NULL, str(year + rng.randint(0, 15))]),
                            [str(year - 3), "1.5", "0"], p))
    fields += [
        _pick(rng, str(rng.randint(5, 240)), ["-10", "1990.0", NULL, ""], p),
        _pick(rng, ",".join(rng.sample(GENRES, rng.randint(1, 3))), [NULL, "", ",", " , Drama"], p),
        _pick(rng, f"{rng.uniform(1, 10):.1f}", ["11.0", "-1", "7,5", NULL], p),
        _pick(rng, str(rng.randint(5, 2_000_000)), ["-3", "1e3", NULL], p),
        _pick(rng, rng.choice(["actor", "actress", "M", "F"]), ["self", "Actor", " actress ", "", NULL], p),
        _pick(rng, rng.choice(["Herself", "Dr. Who", "Narrator"]), [NULL, ""], p),
        _pick(rng, rng.choice(NAMES), ["", NULL, "   "], p),
        _pick(rng, str(birth), ["1700", "3000", "abc", NULL], p),
        _pick(rng, death, [str(birth - 10), "1750", "9999"], p),
        _pick(rng, ",".join(rng.sample(PROFESSIONS, rng.randint(1, 2))), [NULL, ""], p),
        _pick(rng, imdb_id, [NULL, "tt1,tt2", ""], p),
    ]
    return fields


def write_file(path: Path, series: bool, seed: int, titles: int = 40, dirty: float = 0.02) -> Path:
    """A movies.csv (or series.csv) of ``titles`` titles with 1–5 rows each; each field is
    dirty with probability ``dirty``; about 3% of lines repeat the line before."""
    rng = random.Random(seed)
    kind = SERIES if series else MOVIES
    lines = [kind.header]
    base = 1_000_000 if series else 2_000_000
    for n in range(titles):
        imdb_id = f"tt{base + rng.randint(0, 40) * 1000 + n:07d}"
        for _ in range(rng.randint(1, 5)):
            lines.append("|".join(_row(rng, imdb_id, series, dirty)))
            if rng.random() < 0.03:
                lines.append(lines[-1])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
