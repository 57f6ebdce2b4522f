"""The source kinds, in one table: everything that differs between movies and series.

Each :class:`SourceKind` row names its CSV header (SPEC.md "Source files"), its lake folder, its
TMDB media type and the Raw file names; the key patterns every module matches lake keys with
(:data:`RAW_CSV_KEY`, :data:`RAW_TMDB_KEY`, :data:`TRUSTED_KEY`) are generated from the rows.
Adding a kind means a row here, its Trusted tables in :mod:`moviedl.core.contract` and its typing SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MOVIES_COLUMNS: tuple[str, ...] = (
    "id", "tituloPincipal", "tituloOriginal", "anoLancamento", "tempoMinutos", "genero",
    "notaMedia", "numeroVotos", "generoArtista", "personagem", "nomeArtista", "anoNascimento",
    "anoFalecimento", "profissao", "titulosMaisConhecidos",
)
SERIES_COLUMNS: tuple[str, ...] = (
    *MOVIES_COLUMNS[:4], "anoTermino", *MOVIES_COLUMNS[4:],
)

DELIMITER = "|"
NULL = "\\N"

RAW_CSV_PREFIX = "Raw/Local/CSV/"
RAW_TMDB_PREFIX = "Raw/TMDB/JSON/"
TMDB_MAX_RECORDS = 100  # SPEC: a Raw TMDB JSON file holds at most 100 records ...
TMDB_MAX_FILE_BYTES = 10_000_000  # ... and at most 10 MB, whichever way a reader counts a megabyte


@dataclass(frozen=True)
class SourceKind:
    """``movies`` or ``series``: its header, lake folder and canonical file name."""

    name: str  # "movies": the CSV file name and the TMDB file prefix
    folder: str  # "Movies": the folder in every zone
    columns: tuple[str, ...]
    tmdb_media: str  # "movie": TMDB's media type (/find results, /movie or /tv)

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def header(self) -> str:
        return DELIMITER.join(self.columns)

    def raw_prefix(self) -> str:
        return f"{RAW_CSV_PREFIX}{self.folder}/"

    def raw_key(self, date: dt.date) -> str:
        return f"{self.raw_prefix()}{date:%Y/%m/%d}/{self.file_name}"

    def raw_tmdb_folder(self, date: dt.date) -> str:
        """``Raw/TMDB/JSON/Movies/2024/05/01/``: where the date's TMDB answers of this kind go."""
        return f"{RAW_TMDB_PREFIX}{self.folder}/{date:%Y/%m/%d}/"


MOVIES = SourceKind("movies", "Movies", MOVIES_COLUMNS, "movie")
SERIES = SourceKind("series", "Series", SERIES_COLUMNS, "tv")
KINDS: tuple[SourceKind, ...] = (MOVIES, SERIES)
BY_NAME = {k.name: k for k in KINDS}
BY_FOLDER = {k.folder: k for k in KINDS}
BY_MEDIA = {k.tmdb_media: k for k in KINDS}

_FOLDER = "|".join(k.folder for k in KINDS)
_NAME = "|".join(k.name for k in KINDS)
_DATE_PATH = r"(\d{4})/(\d{2})/(\d{2})"
#: ``Raw/Local/CSV/<Folder>/YYYY/MM/DD/<name>.csv``: groups folder, year, month, day, name.
RAW_CSV_KEY = re.compile(rf"^{RAW_CSV_PREFIX}({_FOLDER})/{_DATE_PATH}/({_NAME})\.csv$")
#: ``Raw/TMDB/JSON/<Folder>/YYYY/MM/DD/<file>.json``: groups folder, year, month, day.
RAW_TMDB_KEY = re.compile(rf"^{RAW_TMDB_PREFIX}({_FOLDER})/{_DATE_PATH}/[^/]+\.json$")
#: A Raw TMDB file as ingest-tmdb names it (``<name>-<run>-NNNNN.json``): groups as above + number.
RAW_TMDB_FILE = re.compile(rf"^{RAW_TMDB_PREFIX}({_FOLDER})/{_DATE_PATH}/[^/]+-(\d+)\.json$")
#: ``Trusted/<Local|TMDB>/Parquet/<Folder>/dt=YYYY-MM-DD/<file>.parquet``: groups table folder, dt.
TRUSTED_KEY = re.compile(
    rf"^(Trusted/(?:Local|TMDB)/Parquet/(?:{_FOLDER}))/dt=(\d{{4}}-\d{{2}}-\d{{2}})/[^/]+\.parquet$"
)
