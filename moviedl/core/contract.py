"""The data contract of the Trusted and Refined zones (SPEC.md), as data.

One :class:`Table` per dataset: its name (the Athena/Glue table name), its lake folder, its
columns with their DuckDB types, its keys and foreign keys. ``refine`` writes to it and audits
against it, ``validate`` checks any lake against it, ``athena-ddl`` derives table definitions
from it — one contract, read by every command.

Types are DuckDB type names as ``DESCRIBE`` prints them (``VARCHAR``, ``INTEGER``, ``BIGINT``,
``DOUBLE``, ``DATE``, ``TIMESTAMP``, ``VARCHAR[]``); :func:`athena_type` maps them for Athena.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from moviedl.core.sources import MOVIES, SERIES

DATA_FILE = "data.parquet"  # the one published file of a table or partition
PARTITION_COLUMN = "dt"  # Trusted partitions: <folder>/dt=YYYY-MM-DD/
QUARANTINE_PREFIX = "_moviedl/quarantine"

# Key-value metadata of every Trusted Parquet file moviedl writes: where its rows came from and
# how they were counted, so any reader (``validate``) can reconcile the file with the Raw zone:
# rows read = rows in the file + duplicates + quarantined.
META_SOURCES = "moviedl.sources"  # the Raw files read (lake keys, comma-separated)
META_ROWS_READ = "moviedl.rows_read"  # CSV data lines / JSON records read
META_DUPLICATES = "moviedl.duplicates"  # exact duplicate lines (TMDB: repeated IMDb ids) dropped
META_QUARANTINED = "moviedl.quarantined"  # rows set aside in the quarantine


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    #: May legitimately be NULL on every row (e.g. TMDB columns before any TMDB data, a death
    #: year in a small sample). ``validate`` warns when any other column is entirely NULL.
    sparse: bool = False
    doc: str = ""


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of this table reference ``parent``'s ``parent_columns``.

    ``total``: every parent key must also appear here (e.g. every title has a FatoFilme row).
    """

    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    total: bool = False


@dataclass(frozen=True)
class Table:
    name: str  # Athena/Glue name, also used in summaries and messages
    folder: str  # lake folder holding the published Parquet ("Refined/DimFilmes")
    zone: str  # "trusted" | "refined"
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()  # further unique column sets
    foreign_keys: tuple[ForeignKey, ...] = ()
    partitioned: bool = False  # Trusted tables: one folder per ingestion date, dt=YYYY-MM-DD
    grain: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def schema(self) -> tuple[tuple[str, str], ...]:
        return tuple((c.name, c.type) for c in self.columns)

    @property
    def not_null(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if not c.nullable)

    def prefix(self, dt: str | None = None) -> str:
        """The folder whose Parquet files are the published data (ends with ``/``)."""
        if self.partitioned:
            if dt is None:
                return f"{self.folder}/"
            return f"{self.folder}/{PARTITION_COLUMN}={dt}/"
        return f"{self.folder}/"

    def data_key(self, dt: str | None = None) -> str:
        """The key of the one published file of this table (or of its partition ``dt``)."""
        if self.partitioned and dt is None:
            raise ValueError(f"{self.name} is partitioned: give dt")
        return f"{self.prefix(dt)}{DATA_FILE}"

    def quarantine_key(self, dt: str) -> str:
        """Where rows of partition ``dt`` that could not be typed are kept (Trusted only)."""
        sub = self.folder.split("/", 1)[1].replace("/Parquet", "")  # "Local/Movies", "TMDB/Movies"
        return f"{QUARANTINE_PREFIX}/{sub}/{PARTITION_COLUMN}={dt}/quarantine.parquet"


def _c(name: str, type_: str, nullable: bool = True, sparse: bool = False, doc: str = "") -> Column:
    return Column(name, type_, nullable, sparse, doc)


# --- Trusted: typed copies of the Raw zone, one partition per ingestion date ----------------

_CSV_HEAD = (
    _c("imdb_id", "VARCHAR", nullable=False, doc="IMDb id, tt + digits (source: id)"),
    _c("title", "VARCHAR", doc="tituloPincipal (the Portuguese title)"),
    _c("original_title", "VARCHAR", doc="tituloOriginal"),
    _c("release_year", "INTEGER", doc="anoLancamento"),
)
_CSV_TAIL = (
    _c("runtime_minutes", "INTEGER", doc="tempoMinutos"),
    _c("genres", "VARCHAR[]", doc="genero split on ','"),
    _c("imdb_rating", "DOUBLE", doc="notaMedia"),
    _c("imdb_votes", "BIGINT", doc="numeroVotos"),
    _c("artist_gender", "VARCHAR", doc="generoArtista"),
    _c("character_name", "VARCHAR", doc="personagem"),
    _c("artist_name", "VARCHAR", doc="nomeArtista"),
    _c("birth_year", "INTEGER", doc="anoNascimento"),
    _c("death_year", "INTEGER", sparse=True, doc="anoFalecimento"),
    _c("professions", "VARCHAR[]", doc="profissao split on ','"),
    _c("known_for_titles", "VARCHAR[]", doc="titulosMaisConhecidos split on ','"),
)

TRUSTED_MOVIES = Table(
    "trusted_movies",
    f"Trusted/Local/Parquet/{MOVIES.folder}",
    "trusted",
    (*_CSV_HEAD, *_CSV_TAIL),
    partitioned=True,
    grain="one row per distinct movies.csv row (title x principal artist)",
)
TRUSTED_SERIES = Table(
    "trusted_series",
    f"Trusted/Local/Parquet/{SERIES.folder}",
    "trusted",
    (*_CSV_HEAD, _c("end_year", "INTEGER", sparse=True, doc="anoTermino"), *_CSV_TAIL),
    partitioned=True,
    grain="one row per distinct series.csv row (title x principal artist)",
)

_TMDB_COMMON = (
    _c("tmdb_id", "BIGINT", nullable=False, doc="TMDB id"),
    _c("imdb_id", "VARCHAR", nullable=False, doc="the IMDb id the title was looked up with"),
)
_TMDB_STATS = (
    _c("original_language", "VARCHAR"),
    _c("popularity", "DOUBLE"),
    _c("vote_average", "DOUBLE"),
    _c("vote_count", "BIGINT"),
    _c("genres", "VARCHAR[]", doc="TMDB genre names"),
)

TRUSTED_TMDB_MOVIES = Table(
    "trusted_tmdb_movies",
    f"Trusted/TMDB/Parquet/{MOVIES.folder}",
    "trusted",
    (
        *_TMDB_COMMON,
        _c("title", "VARCHAR"),
        _c("original_title", "VARCHAR"),
        _c("release_date", "DATE", doc="'' becomes NULL"),
        *_TMDB_STATS,
        _c("budget", "BIGINT", sparse=True, doc="0 becomes NULL"),
        _c("revenue", "BIGINT", sparse=True, doc="0 becomes NULL"),
        _c("runtime", "INTEGER"),
        _c("fetched_at", "TIMESTAMP", doc="when ingest-tmdb fetched it (UTC)"),
    ),
    primary_key=("imdb_id",),
    partitioned=True,
    grain="one row per movie found on TMDB",
)
TRUSTED_TMDB_SERIES = Table(
    "trusted_tmdb_series",
    f"Trusted/TMDB/Parquet/{SERIES.folder}",
    "trusted",
    (
        *_TMDB_COMMON,
        _c("name", "VARCHAR"),
        _c("original_name", "VARCHAR"),
        _c("first_air_date", "DATE", doc="'' becomes NULL"),
        _c("last_air_date", "DATE", sparse=True, doc="'' becomes NULL"),
        *_TMDB_STATS,
        _c("number_of_seasons", "INTEGER"),
        _c("number_of_episodes", "INTEGER"),
        _c("fetched_at", "TIMESTAMP", doc="when ingest-tmdb fetched it (UTC)"),
    ),
    primary_key=("imdb_id",),
    partitioned=True,
    grain="one row per series found on TMDB",
)

# --- Refined: the star schema ----------------------------------------------------------------

DIM_FILMES = Table(
    "dim_filmes",
    "Refined/DimFilmes",
    "refined",
    (
        _c("film_id", "BIGINT", nullable=False, doc="numeric part of the IMDb id"),
        _c("imdb_id", "VARCHAR", nullable=False),
        _c("tmdb_id", "BIGINT", sparse=True),
        _c("title", "VARCHAR"),
        _c("original_title", "VARCHAR"),
        _c("title_type", "VARCHAR", nullable=False, doc="'movie' or 'series'"),
        _c("release_year", "INTEGER"),
        _c("end_year", "INTEGER", sparse=True, doc="series only"),
        _c("decade", "INTEGER", doc="release_year rounded down to 10"),
        _c("runtime_minutes", "INTEGER"),
        _c("original_language", "VARCHAR", sparse=True, doc="from TMDB"),
    ),
    primary_key=("film_id",),
    unique=(("imdb_id",),),
    grain="one row per title (movies and series)",
)
DIM_GENERO = Table(
    "dim_genero",
    "Refined/DimGenero",
    "refined",
    (
        _c("genre_id", "BIGINT", nullable=False, doc="stable hash of the normalised genre name"),
        _c("genre", "VARCHAR", nullable=False, doc="'(unknown)' for titles without a genre"),
    ),
    primary_key=("genre_id",),
    unique=(("genre",),),
    grain="one row per genre",
)
DIM_ARTISTA = Table(
    "dim_artista",
    "Refined/DimArtista",
    "refined",
    (
        _c(
            "artist_id", "BIGINT", nullable=False, doc="stable hash of normalised name + birth year"
        ),
        _c("name", "VARCHAR", nullable=False),
        _c("gender", "VARCHAR"),
        _c("birth_year", "INTEGER"),
        _c("death_year", "INTEGER", sparse=True),
        _c("professions", "VARCHAR[]"),
    ),
    primary_key=("artist_id",),
    grain="one row per artist (name + birth year)",
)
FATO_FILME = Table(
    "fato_filme",
    "Refined/FatoFilme",
    "refined",
    (
        _c("film_id", "BIGINT", nullable=False),
        _c("genre_id", "BIGINT", nullable=False),
        _c("imdb_rating", "DOUBLE"),
        _c("imdb_votes", "BIGINT"),
        _c("tmdb_popularity", "DOUBLE", sparse=True),
        _c("tmdb_vote_average", "DOUBLE", sparse=True),
        _c("tmdb_vote_count", "BIGINT", sparse=True),
        _c("budget", "BIGINT", sparse=True),
        _c("revenue", "BIGINT", sparse=True),
        _c("artist_count", "INTEGER", nullable=False),
    ),
    primary_key=("film_id", "genre_id"),
    foreign_keys=(
        ForeignKey(("film_id",), "dim_filmes", ("film_id",), total=True),
        ForeignKey(("genre_id",), "dim_genero", ("genre_id",), total=True),
    ),
    grain="one row per (title, genre)",
)
FATO_ELENCO = Table(
    "fato_elenco",
    "Refined/FatoElenco",
    "refined",
    (
        _c("film_id", "BIGINT", nullable=False),
        _c("artist_id", "BIGINT", nullable=False),
        _c("character_name", "VARCHAR", doc="distinct characters joined by ' / '"),
    ),
    primary_key=("film_id", "artist_id"),
    foreign_keys=(
        ForeignKey(("film_id",), "dim_filmes", ("film_id",)),
        ForeignKey(("artist_id",), "dim_artista", ("artist_id",), total=True),
    ),
    grain="one row per (title, artist)",
)

# Quarantine: rows of a Trusted partition that could not be typed (not a published table).
QUARANTINE = Table(
    "quarantine",
    QUARANTINE_PREFIX,
    "state",
    (
        _c("source_file", "VARCHAR", nullable=False, doc="lake key of the Raw file"),
        _c(
            "line",
            "BIGINT",
            nullable=False,
            doc="CSV line number (header = 1) or JSON record number",
        ),
        _c("raw", "VARCHAR", nullable=False, doc="the line or JSON record as stored"),
        _c("reason", "VARCHAR", nullable=False),
    ),
    grain="one row per Raw row that could not be typed",
)

TRUSTED_TABLES: tuple[Table, ...] = (
    TRUSTED_MOVIES,
    TRUSTED_SERIES,
    TRUSTED_TMDB_MOVIES,
    TRUSTED_TMDB_SERIES,
)
#: kind name -> its Trusted table typed from the Raw CSV, and the one typed from TMDB JSON.
TRUSTED_CSV_TABLES: dict[str, Table] = {MOVIES.name: TRUSTED_MOVIES, SERIES.name: TRUSTED_SERIES}
TRUSTED_TMDB_TABLES: dict[str, Table] = {MOVIES.name: TRUSTED_TMDB_MOVIES, SERIES.name: TRUSTED_TMDB_SERIES}
# Dimensions before facts: the order tables are published in.
REFINED_TABLES: tuple[Table, ...] = (DIM_FILMES, DIM_GENERO, DIM_ARTISTA, FATO_FILME, FATO_ELENCO)
TABLES: Mapping[str, Table] = {t.name: t for t in (*TRUSTED_TABLES, *REFINED_TABLES)}

_ATHENA_TYPES = {
    "VARCHAR": "string",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "DOUBLE": "double",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean",
}


def athena_type(duckdb_type: str) -> str:
    """The Athena (Hive DDL) type for a contract type: ``VARCHAR[]`` -> ``array<string>``."""
    if duckdb_type.endswith("[]"):
        return f"array<{athena_type(duckdb_type[:-2])}>"
    return _ATHENA_TYPES[duckdb_type]
