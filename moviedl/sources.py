"""The source-file contract (SPEC.md "Source files"): the two CSV kinds and their headers."""

from __future__ import annotations

import datetime as dt
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


@dataclass(frozen=True)
class SourceKind:
    """``movies`` or ``series``: its header, lake folder and canonical file name."""

    name: str
    folder: str
    columns: tuple[str, ...]

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def header(self) -> str:
        return DELIMITER.join(self.columns)

    def raw_prefix(self) -> str:
        return f"Raw/Local/CSV/{self.folder}/"

    def raw_key(self, date: dt.date) -> str:
        return f"{self.raw_prefix()}{date:%Y/%m/%d}/{self.file_name}"


MOVIES = SourceKind("movies", "Movies", MOVIES_COLUMNS)
SERIES = SourceKind("series", "Series", SERIES_COLUMNS)
KINDS: tuple[SourceKind, ...] = (MOVIES, SERIES)
