"""Generate large movies.csv / series.csv files of the same shape as the bundled samples.

Rows are the sample's rows with fresh title ids and artist names, so every feature of the
sample (``\\N`` nulls, comma lists, accents, quotes, repeated titles, duplicates) scales up.

    python benchmarks/generate.py OUTDIR --movies 1000000 --series 250000
    python benchmarks/generate.py OUTDIR --movies 1000000 --series 250000 --shape challenge

``--shape challenge`` makes files shaped like the real challenge files instead: 4 or 5 credit
rows per title (the sample's cast, repeated with other names when shorter),
``generoArtista`` spelt ``actor``/``actress``, longer comma lists (3–4 professions, 4–8 known
titles) and about 4% of rows breaking one value rule refine quarantines (death year before
birth year, end year before release year, rating outside 0–10, negative runtime or votes, a
birth year before 1800).
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from importlib import resources
from pathlib import Path


def _template(kind: str) -> tuple[str, list[list[str]]]:
    text = (resources.files("moviedl") / "samples" / f"{kind}.csv").read_text("utf-8")
    header, *rows = text.splitlines()
    return header, [row.split("|") for row in rows]


#: Share of rows that break one value rule in the challenge shape.
CHALLENGE_BAD_SHARE = 0.04
PROFESSIONS = (
    "actor", "actress", "producer", "writer", "director", "soundtrack", "composer",
    "cinematographer", "editor", "casting_director", "stunts", "music_department",
)
GENDERS = {"M": "actor", "F": "actress"}


def _break_a_rule(row: list[str], kind: str, rng: random.Random) -> None:
    """Make ``row`` break one of the value rules (moviedl/checks/values.py RULES)."""
    s = 1 if kind == "series" else 0  # series have anoTermino after anoLancamento
    choice = rng.randrange(6 if s else 5)
    if choice == 0:  # death year before birth year
        birth = int(row[11 + s]) if row[11 + s].isdigit() else 1950
        row[11 + s] = str(birth)
        row[12 + s] = str(birth - rng.randint(1, 40))
    elif choice == 1:  # rating outside 0-10
        row[6 + s] = rng.choice(("10.5", "11.2", "12.0", "-1.0", "99.9"))
    elif choice == 2:  # negative runtime
        row[4 + s] = str(-rng.randint(1, 200))
    elif choice == 3:  # negative vote count
        row[7 + s] = str(-rng.randint(1, 5000))
    elif choice == 4:  # birth year out of range
        row[11 + s] = str(rng.randint(1200, 1799))
    else:  # series only: end year before release year
        start = int(row[3]) if row[3].isdigit() else 2000
        row[3] = str(start)
        row[4] = str(start - rng.randint(1, 10))


def generate(path: Path, kind: str, rows: int, seed: int = 7, shape: str = "sample") -> int:
    """Write ``rows`` data rows to ``path``; returns the byte size."""
    header, template = _template(kind)
    rng = random.Random(seed)
    lines = (_challenge_lines if shape == "challenge" else _sample_lines)(kind, template, rows, rng)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(header + "\n")
        for batch in _batches(lines, 20_000):
            out.write("\n".join(batch) + "\n")
    return path.stat().st_size


def _batches(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _titles(template: list[list[str]]) -> list[list[list[str]]]:
    """The template rows grouped by title, so each generated title keeps a cast."""
    titles: dict[str, list[list[str]]] = {}
    for fields in template:
        titles.setdefault(fields[0], []).append(fields)
    return list(titles.values())


def _sample_lines(kind: str, template: list[list[str]], rows: int, rng: random.Random) -> Iterator[str]:
    """The bundled sample scaled up: each title keeps its cast of 2-6 rows."""
    groups = _titles(template)
    name_col = 11 if kind == "series" else 10
    votes_col = 8 if kind == "series" else 7
    written = serial = 0
    while written < rows:
        group = groups[serial % len(groups)]
        serial += 1
        title_id = f"tt{20_000_000 + serial:08d}"
        votes_shift = rng.randint(0, 5000)
        for fields in group[: rows - written]:
            row = list(fields)
            row[0] = title_id
            row[name_col] = f"{row[name_col]} {serial % 997}"
            if row[votes_col] != "\\N":
                row[votes_col] = str(int(row[votes_col]) + votes_shift)
            yield "|".join(row)
            written += 1


def _challenge_lines(kind: str, template: list[list[str]], rows: int, rng: random.Random) -> Iterator[str]:
    """The challenge shape (see the module's docstring): 4-5 credits per title, actor/actress,
    long comma lists, about 4% of rows breaking a value rule."""
    groups = _titles(template)
    s = 1 if kind == "series" else 0
    # Pools drawn once, so the per-row cost stays a few random draws.
    professions = [
        ",".join(rng.sample(PROFESSIONS, rng.randint(3, 4))) for _ in range(2_000)
    ]
    known_for = [
        ",".join(f"tt{rng.randint(1, 29_999_999):07d}" for _ in range(rng.randint(4, 8)))
        for _ in range(20_000)
    ]
    written = serial = 0
    while written < rows:
        group = groups[serial % len(groups)]
        serial += 1
        title_id = f"tt{20_000_000 + serial:08d}"
        votes_shift = rng.randint(0, 5000)
        for credit in range(rng.choice((4, 5))):
            if written >= rows:
                break
            row = list(group[credit % len(group)])
            row[0] = title_id
            lap = credit // len(group)  # a shorter cast repeats with other names
            row[10 + s] = f"{row[10 + s]} {serial % 997}" + (f"-{lap}" if lap else "")
            if lap:
                row[9 + s] = f"{row[9 + s]} {lap}"
            row[8 + s] = GENDERS.get(row[8 + s], row[8 + s])
            if row[7 + s] != "\\N":
                row[7 + s] = str(int(row[7 + s]) + votes_shift)
            row[13 + s] = professions[rng.randrange(len(professions))]
            row[14 + s] = known_for[rng.randrange(len(known_for))]
            if rng.random() < CHALLENGE_BAD_SHARE:
                _break_a_rule(row, kind, rng)
            yield "|".join(row)
            written += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--movies", type=int, default=1_000_000, help="movie rows (default 1,000,000)")
    parser.add_argument("--series", type=int, default=250_000, help="series rows (default 250,000)")
    parser.add_argument(
        "--shape",
        choices=("sample", "challenge"),
        default="sample",
        help="sample: the bundled sample scaled up (default); challenge: like the challenge files",
    )
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    for kind, rows in (("movies", args.movies), ("series", args.series)):
        if rows:
            size = generate(args.outdir / f"{kind}.csv", kind, rows, shape=args.shape)
            print(f"{args.outdir / f'{kind}.csv'}: {rows:,} rows, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
