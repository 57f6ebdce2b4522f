"""Generate large movies.csv / series.csv files of the same shape as the bundled samples.

Rows are the sample's rows with fresh title ids and artist names, so every feature of the
sample (``\\N`` nulls, comma lists, accents, quotes, repeated titles, duplicates) scales up.

    python benchmarks/generate.py OUTDIR --movies 1000000 --series 250000
"""

from __future__ import annotations

import argparse
import random
from importlib import resources
from pathlib import Path


def _template(kind: str) -> tuple[str, list[list[str]]]:
    text = (resources.files("moviedl") / "samples" / f"{kind}.csv").read_text("utf-8")
    header, *rows = text.splitlines()
    return header, [row.split("|") for row in rows]


def generate(path: Path, kind: str, rows: int, seed: int = 7) -> int:
    """Write ``rows`` data rows to ``path``; returns the byte size."""
    header, template = _template(kind)
    rng = random.Random(seed)
    # Group the template rows by title so each generated title keeps its cast of 2-6 rows.
    titles: dict[str, list[list[str]]] = {}
    for fields in template:
        titles.setdefault(fields[0], []).append(fields)
    groups = list(titles.values())
    name_col = 11 if kind == "series" else 10
    written = 0
    serial = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(header + "\n")
        batch: list[str] = []
        while written < rows:
            group = groups[serial % len(groups)]
            serial += 1
            title_id = f"tt{20_000_000 + serial:08d}"
            votes_shift = rng.randint(0, 5000)
            for fields in group:
                if written >= rows:
                    break
                row = list(fields)
                row[0] = title_id
                row[name_col] = f"{row[name_col]} {serial % 997}"
                votes = row[8 if kind == "series" else 7]
                if votes != "\\N":
                    row[8 if kind == "series" else 7] = str(int(votes) + votes_shift)
                batch.append("|".join(row))
                written += 1
            if len(batch) >= 20_000:
                out.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            out.write("\n".join(batch) + "\n")
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--movies", type=int, default=1_000_000, help="movie rows (default 1,000,000)")
    parser.add_argument("--series", type=int, default=250_000, help="series rows (default 250,000)")
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    for kind, rows in (("movies", args.movies), ("series", args.series)):
        if rows:
            size = generate(args.outdir / f"{kind}.csv", kind, rows)
            print(f"{args.outdir / f'{kind}.csv'}: {rows:,} rows, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
