-- moviedl athena-ddl: Athena DDL for database moviedl, lake at s3://example-bucket/lake
-- Columns and types read from the Parquet files and checked against the moviedl contract.
-- Needs Athena engine version 3. Trusted tables use partition projection on dt: no crawler,
-- no MSCK REPAIR. Run the statements in order.

-- database moviedl
CREATE DATABASE IF NOT EXISTS `moviedl`;

-- trusted_movies: one row per distinct movies.csv row (title x principal artist)
CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`trusted_movies` (
  `imdb_id` string COMMENT 'IMDb id, tt + digits (source: id)',
  `title` string COMMENT 'tituloPincipal (the Portuguese title)',
  `original_title` string COMMENT 'tituloOriginal',
  `release_year` int COMMENT 'anoLancamento',
  `runtime_minutes` int COMMENT 'tempoMinutos',
  `genres` array<string> COMMENT 'genero split on ","',
  `imdb_rating` double COMMENT 'notaMedia',
  `imdb_votes` bigint COMMENT 'numeroVotos',
  `artist_gender` string COMMENT 'generoArtista',
  `character_name` string COMMENT 'personagem',
  `artist_name` string COMMENT 'nomeArtista',
  `birth_year` int COMMENT 'anoNascimento',
  `death_year` int COMMENT 'anoFalecimento',
  `professions` array<string> COMMENT 'profissao split on ","',
  `known_for_titles` array<string> COMMENT 'titulosMaisConhecidos split on ","'
)
PARTITIONED BY (`dt` string COMMENT 'ingestion date, YYYY-MM-DD')
STORED AS PARQUET
LOCATION 's3://example-bucket/lake/Trusted/Local/Parquet/Movies/'
TBLPROPERTIES (
  'classification'='parquet',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2024-05-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://example-bucket/lake/Trusted/Local/Parquet/Movies/dt=${dt}/'
);

-- trusted_movies: partitions from the first ingestion date to today
ALTER TABLE `moviedl`.`trusted_movies` SET TBLPROPERTIES ('projection.dt.range'='2024-05-01,NOW');

-- trusted_series: one row per distinct series.csv row (title x principal artist)
CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`trusted_series` (
  `imdb_id` string COMMENT 'IMDb id, tt + digits (source: id)',
  `title` string COMMENT 'tituloPincipal (the Portuguese title)',
  `original_title` string COMMENT 'tituloOriginal',
  `release_year` int COMMENT 'anoLancamento',
  `end_year` int COMMENT 'anoTermino',
  `runtime_minutes` int COMMENT 'tempoMinutos',
  `genres` array<string> COMMENT 'genero split on ","',
  `imdb_rating` double COMMENT 'notaMedia',
  `imdb_votes` bigint COMMENT 'numeroVotos',
  `artist_gender` string COMMENT 'generoArtista',
  `character_name` string COMMENT 'personagem',
  `artist_name` string COMMENT 'nomeArtista',
  `birth_year` int COMMENT 'anoNascimento',
  `death_year` int COMMENT 'anoFalecimento',
  `professions` array<string> COMMENT 'profissao split on ","',
  `known_for_titles` array<string> COMMENT 'titulosMaisConhecidos split on ","'
)
PARTITIONED BY (`dt` string COMMENT 'ingestion date, YYYY-MM-DD')
STORED AS PARQUET
LOCATION 's3://example-bucket/lake/Trusted/Local/Parquet/Series/'
TBLPROPERTIES (
  'classification'='parquet',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2024-05-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://example-bucket/lake/Trusted/Local/Parquet/Series/dt=${dt}/'
);

-- trusted_series: partitions from the first ingestion date to today
ALTER TABLE `moviedl`.`trusted_series` SET TBLPROPERTIES ('projection.dt.range'='2024-05-01,NOW');

-- trusted_tmdb_movies: one row per movie found on TMDB
CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`trusted_tmdb_movies` (
  `tmdb_id` bigint COMMENT 'TMDB id',
  `imdb_id` string COMMENT 'the IMDb id the title was looked up with',
  `title` string,
  `original_title` string,
  `release_date` date COMMENT '"" becomes NULL',
  `original_language` string,
  `popularity` double,
  `vote_average` double,
  `vote_count` bigint,
  `genres` array<string> COMMENT 'TMDB genre names',
  `budget` bigint COMMENT '0 becomes NULL',
  `revenue` bigint COMMENT '0 becomes NULL',
  `runtime` int,
  `fetched_at` timestamp COMMENT 'when ingest-tmdb fetched it (UTC)'
)
PARTITIONED BY (`dt` string COMMENT 'ingestion date, YYYY-MM-DD')
STORED AS PARQUET
LOCATION 's3://example-bucket/lake/Trusted/TMDB/Parquet/Movies/'
TBLPROPERTIES (
  'classification'='parquet',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2024-05-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://example-bucket/lake/Trusted/TMDB/Parquet/Movies/dt=${dt}/'
);

-- trusted_tmdb_movies: partitions from the first ingestion date to today
ALTER TABLE `moviedl`.`trusted_tmdb_movies` SET TBLPROPERTIES ('projection.dt.range'='2024-05-01,NOW');

-- trusted_tmdb_series: one row per series found on TMDB
CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`trusted_tmdb_series` (
  `tmdb_id` bigint COMMENT 'TMDB id',
  `imdb_id` string COMMENT 'the IMDb id the title was looked up with',
  `name` string,
  `original_name` string,
  `first_air_date` date COMMENT '"" becomes NULL',
  `last_air_date` date COMMENT '"" becomes NULL',
  `original_language` string,
  `popularity` double,
  `vote_average` double,
  `vote_count` bigint,
  `genres` array<string> COMMENT 'TMDB genre names',
  `number_of_seasons` int,
  `number_of_episodes` int,
  `fetched_at` timestamp COMMENT 'when ingest-tmdb fetched it (UTC)'
)
PARTITIONED BY (`dt` string COMMENT 'ingestion date, YYYY-MM-DD')
STORED AS PARQUET
LOCATION 's3://example-bucket/lake/Trusted/TMDB/Parquet/Series/'
TBLPROPERTIES (
  'classification'='parquet',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2024-05-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://example-bucket/lake/Trusted/TMDB/Parquet/Series/dt=${dt}/'
);

-- trusted_tmdb_series: partitions from the first ingestion date to today
ALTER TABLE `moviedl`.`trusted_tmdb_series` SET TBLPROPERTIES ('projection.dt.range'='2024-05-01,NOW');

-- dim_filmes: one row per title (movies and series)
CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`dim_filmes` (
  `film_id` bigint COMMENT 'numeric part of the IMDb id',
  `imdb_id` string,
  `tmdb_id` bigint,
  `title` string,
  `original_title` string,
  `title_type` string COMMENT '"movie" or "series"',
  `release_year` int,
  `end_year` int COMMENT 'series only',
  `decade` int COMMENT 'release_year rounded down to 10',
  `runtime_minutes` int,
  `original_language` string COMMENT 'from TMDB'
)
STORED AS PARQUET
LOCATION 's3://example-bucket/lake/Refined/DimFilmes/'
TBLPROPERTIES (
  'classification'='parquet'
);

-- dim_genero: one row per genre
CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`dim_genero` (
  `genre_id` bigint COMMENT 'stable hash of the normalised genre name',
  `genre` string COMMENT '"(unknown)" for titles without a genre'
)
STORED AS PARQUET
LOCATION 's3://example-bucket/lake/Refined/DimGenero/'
TBLPROPERTIES (
  'classification'='parquet'
);

-- dim_artista: one row per artist (name + birth year)
CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`dim_artista` (
  `artist_id` bigint COMMENT 'stable hash of normalised name + birth year',
  `name` string,
  `gender` string,
  `birth_year` int,
  `death_year` int,
  `professions` array<string>
)
STORED AS PARQUET
LOCATION 's3://example-bucket/lake/Refined/DimArtista/'
TBLPROPERTIES (
  'classification'='parquet'
);

-- fato_filme: one row per (title, genre)
CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`fato_filme` (
  `film_id` bigint,
  `genre_id` bigint,
  `imdb_rating` double,
  `imdb_votes` bigint,
  `tmdb_popularity` double,
  `tmdb_vote_average` double,
  `tmdb_vote_count` bigint,
  `budget` bigint,
  `revenue` bigint,
  `artist_count` int
)
STORED AS PARQUET
LOCATION 's3://example-bucket/lake/Refined/FatoFilme/'
TBLPROPERTIES (
  'classification'='parquet'
);

-- fato_elenco: one row per (title, artist)
CREATE EXTERNAL TABLE IF NOT EXISTS `moviedl`.`fato_elenco` (
  `film_id` bigint,
  `artist_id` bigint,
  `character_name` string COMMENT 'distinct characters joined by " / "'
)
STORED AS PARQUET
LOCATION 's3://example-bucket/lake/Refined/FatoElenco/'
TBLPROPERTIES (
  'classification'='parquet'
);

-- v_title_facts: One row per title with its title-level measures (FatoFilme repeats them on each
-- genre row of the title), its genres joined by ', ' and its IMDb votes band (the largest of 0,
-- 1k, 10k, 100k and 1M it reaches, 0 without votes), the grain a minimum-votes filter needs. The
-- other views build on it.
CREATE OR REPLACE VIEW "moviedl"."v_title_facts" AS
SELECT
  "f"."film_id",
  "f"."imdb_id",
  "f"."tmdb_id",
  "f"."title",
  "f"."original_title",
  "f"."title_type",
  "f"."release_year",
  "f"."decade",
  "f"."runtime_minutes",
  "f"."original_language",
  LISTAGG("g"."genre", ', ') WITHIN GROUP (ORDER BY
    "g"."genre") AS "genres",
  MAX("ff"."imdb_rating") AS "imdb_rating",
  MAX("ff"."imdb_votes") AS "imdb_votes",
  MAX("ff"."tmdb_popularity") AS "tmdb_popularity",
  MAX("ff"."tmdb_vote_average") AS "tmdb_vote_average",
  MAX("ff"."tmdb_vote_count") AS "tmdb_vote_count",
  MAX("ff"."budget") AS "budget",
  MAX("ff"."revenue") AS "revenue",
  MAX("ff"."artist_count") AS "artist_count",
  CASE
    WHEN MAX("ff"."imdb_votes") >= 1000000
    THEN 1000000
    WHEN MAX("ff"."imdb_votes") >= 100000
    THEN 100000
    WHEN MAX("ff"."imdb_votes") >= 10000
    THEN 10000
    WHEN MAX("ff"."imdb_votes") >= 1000
    THEN 1000
    ELSE 0
  END AS "votes_band"
FROM "moviedl"."dim_filmes" AS "f"
LEFT JOIN "moviedl"."fato_filme" AS "ff"
  ON "ff"."film_id" = "f"."film_id"
LEFT JOIN "moviedl"."dim_genero" AS "g"
  ON "g"."genre_id" = "ff"."genre_id"
GROUP BY
  "f"."film_id",
  "f"."imdb_id",
  "f"."tmdb_id",
  "f"."title",
  "f"."original_title",
  "f"."title_type",
  "f"."release_year",
  "f"."decade",
  "f"."runtime_minutes",
  "f"."original_language";

-- v_genre_summary: Per genre: titles (a title counts once in each of its genres), movies, series,
-- average IMDb rating, IMDb votes, average TMDB popularity and how many titles have TMDB data.
CREATE OR REPLACE VIEW "moviedl"."v_genre_summary" AS
SELECT
  "g"."genre",
  COUNT(*) AS "titles",
  COUNT(*) FILTER(WHERE
    "f"."title_type" = 'movie') AS "movies",
  COUNT(*) FILTER(WHERE
    "f"."title_type" = 'series') AS "series",
  ROUND(AVG("ff"."imdb_rating"), 2) AS "avg_imdb_rating",
  CAST(SUM("ff"."imdb_votes") AS BIGINT) AS "imdb_votes",
  ROUND(AVG("ff"."tmdb_popularity"), 2) AS "avg_tmdb_popularity",
  COUNT("ff"."tmdb_popularity") AS "titles_with_tmdb"
FROM "moviedl"."fato_filme" AS "ff"
JOIN "moviedl"."dim_genero" AS "g"
  ON "g"."genre_id" = "ff"."genre_id"
JOIN "moviedl"."dim_filmes" AS "f"
  ON "f"."film_id" = "ff"."film_id"
GROUP BY
  "g"."genre";

-- v_decade_summary: Per decade of release: titles, movies, series, average IMDb rating, IMDb votes
-- and average runtime. Titles without a release year are left out.
CREATE OR REPLACE VIEW "moviedl"."v_decade_summary" AS
SELECT
  "decade",
  COUNT(*) AS "titles",
  COUNT(*) FILTER(WHERE
    "title_type" = 'movie') AS "movies",
  COUNT(*) FILTER(WHERE
    "title_type" = 'series') AS "series",
  ROUND(AVG("imdb_rating"), 2) AS "avg_imdb_rating",
  CAST(SUM("imdb_votes") AS BIGINT) AS "imdb_votes",
  ROUND(AVG("runtime_minutes"), 1) AS "avg_runtime_minutes"
FROM "moviedl"."v_title_facts"
WHERE
  NOT "decade" IS NULL
GROUP BY
  "decade";

-- v_budget_revenue: Budget against revenue (TMDB, US dollars) for every title that has both, with
-- its IMDb rating and votes.
CREATE OR REPLACE VIEW "moviedl"."v_budget_revenue" AS
SELECT
  "film_id",
  "title",
  "title_type",
  "release_year",
  "decade",
  "genres",
  "budget",
  "revenue",
  "revenue" - "budget" AS "profit",
  ROUND(CAST("revenue" AS DOUBLE) / "budget", 2) AS "revenue_to_budget",
  "imdb_rating",
  "imdb_votes"
FROM "moviedl"."v_title_facts"
WHERE
  "budget" > 0 AND "revenue" > 0;

-- v_top_titles: The 100 titles with the most IMDb votes, ranked 1 to 100 (ties broken by film_id).
CREATE OR REPLACE VIEW "moviedl"."v_top_titles" AS
SELECT
  "vote_rank",
  "film_id",
  "title",
  "title_type",
  "release_year",
  "genres",
  "imdb_rating",
  "imdb_votes"
FROM (
  SELECT
    *,
    ROW_NUMBER() OVER (ORDER BY "imdb_votes" DESC, "film_id") AS "vote_rank"
  FROM "moviedl"."v_title_facts"
  WHERE
    NOT "imdb_votes" IS NULL
) AS "ranked"
WHERE
  "vote_rank" <= 100;

-- v_genre_decade: Per genre, decade of release, title type and IMDb votes band (v_title_facts):
-- titles (a title counts once in each of its genres), how many have an IMDb rating, their average
-- rating and their IMDb votes in total. Titles without a release year have a NULL decade. Genre
-- popularity over time reads it.
CREATE OR REPLACE VIEW "moviedl"."v_genre_decade" AS
SELECT
  "g"."genre",
  "f"."decade",
  "f"."title_type",
  "t"."votes_band",
  COUNT(*) AS "titles",
  COUNT("ff"."imdb_rating") AS "rated_titles",
  ROUND(AVG("ff"."imdb_rating"), 2) AS "avg_imdb_rating",
  CAST(SUM("ff"."imdb_votes") AS BIGINT) AS "total_imdb_votes"
FROM "moviedl"."fato_filme" AS "ff"
JOIN "moviedl"."dim_genero" AS "g"
  ON "g"."genre_id" = "ff"."genre_id"
JOIN "moviedl"."dim_filmes" AS "f"
  ON "f"."film_id" = "ff"."film_id"
JOIN "moviedl"."v_title_facts" AS "t"
  ON "t"."film_id" = "ff"."film_id"
GROUP BY
  "g"."genre",
  "f"."decade",
  "f"."title_type",
  "t"."votes_band";

-- v_kind_decade: Movies against series per decade of release, genre combination (`genres`, as in
-- v_title_facts) and IMDb votes band: titles, rated titles, average IMDb rating, IMDb votes in
-- total and average runtime. A title counts once: to filter on a genre, match it in genres
-- (Athena: contains(split(genres, ', '), 'Drama')) rather than summing per genre. Titles without a
-- release year have a NULL decade.
CREATE OR REPLACE VIEW "moviedl"."v_kind_decade" AS
SELECT
  "title_type",
  "decade",
  "genres",
  "votes_band",
  COUNT(*) AS "titles",
  COUNT("imdb_rating") AS "rated_titles",
  ROUND(AVG("imdb_rating"), 2) AS "avg_imdb_rating",
  CAST(SUM("imdb_votes") AS BIGINT) AS "total_imdb_votes",
  COUNT("runtime_minutes") AS "timed_titles",
  ROUND(AVG("runtime_minutes"), 1) AS "avg_runtime_minutes"
FROM "moviedl"."v_title_facts"
GROUP BY
  "title_type",
  "decade",
  "genres",
  "votes_band";

-- v_rating_distribution: IMDb ratings in bins of 0.5 (rating_bin 7.5 holds 7.5 to 7.9, and a 10
-- falls in the 9.5 bin), per title type, decade of release, genre combination (`genres`) and IMDb
-- votes band.
CREATE OR REPLACE VIEW "moviedl"."v_rating_distribution" AS
SELECT
  "title_type",
  "decade",
  "genres",
  "votes_band",
  LEAST(CAST(FLOOR("imdb_rating" * 2) AS DOUBLE) / 2, 9.5) AS "rating_bin",
  COUNT(*) AS "titles"
FROM "moviedl"."v_title_facts"
WHERE
  NOT "imdb_rating" IS NULL
GROUP BY
  "title_type",
  "decade",
  "genres",
  "votes_band",
  LEAST(CAST(FLOOR("imdb_rating" * 2) AS DOUBLE) / 2, 9.5);

-- v_runtime_distribution: Runtimes in bins of 15 minutes (runtime_bin 90 holds 90 to 104 minutes,
-- 240 holds 4 hours and more), per title type, decade of release, genre combination (`genres`) and
-- IMDb votes band. For series the runtime is an episode's.
CREATE OR REPLACE VIEW "moviedl"."v_runtime_distribution" AS
SELECT
  "title_type",
  "decade",
  "genres",
  "votes_band",
  CAST(LEAST(FLOOR(CAST("runtime_minutes" AS DOUBLE) / 15) * 15, 240) AS INTEGER) AS "runtime_bin",
  COUNT(*) AS "titles"
FROM "moviedl"."v_title_facts"
WHERE
  NOT "runtime_minutes" IS NULL AND "runtime_minutes" > 0
GROUP BY
  "title_type",
  "decade",
  "genres",
  "votes_band",
  CAST(LEAST(FLOOR(CAST("runtime_minutes" AS DOUBLE) / 15) * 15, 240) AS INTEGER);

-- v_language_summary: Per original language (TMDB's ISO 639-1 code, NULL without TMDB data), title
-- type, decade of release, genre combination (`genres`) and IMDb votes band: titles, rated titles
-- and their average IMDb rating.
CREATE OR REPLACE VIEW "moviedl"."v_language_summary" AS
SELECT
  "original_language",
  "title_type",
  "decade",
  "genres",
  "votes_band",
  COUNT(*) AS "titles",
  COUNT("imdb_rating") AS "rated_titles",
  ROUND(AVG("imdb_rating"), 2) AS "avg_imdb_rating"
FROM "moviedl"."v_title_facts"
GROUP BY
  "original_language",
  "title_type",
  "decade",
  "genres",
  "votes_band";

-- v_tmdb_coverage: How many titles have TMDB data, per title type, decade of release, genre
-- combination (`genres`) and IMDb votes band: titles, with_tmdb, without_tmdb and the share
-- covered (0 to 1).
CREATE OR REPLACE VIEW "moviedl"."v_tmdb_coverage" AS
SELECT
  "title_type",
  "decade",
  "genres",
  "votes_band",
  COUNT(*) AS "titles",
  COUNT("tmdb_id") AS "with_tmdb",
  COUNT(*) - COUNT("tmdb_id") AS "without_tmdb",
  ROUND(CAST(COUNT("tmdb_id") AS DOUBLE) / COUNT(*), 4) AS "coverage"
FROM "moviedl"."v_title_facts"
GROUP BY
  "title_type",
  "decade",
  "genres",
  "votes_band";

-- v_budget_by_genre: TMDB budget and revenue (US dollars) per genre, title type, decade and IMDb
-- votes band (v_title_facts), over the titles that have both: titles, budget and revenue in total,
-- and return on investment (revenue / budget). A title counts once in each of its genres.
CREATE OR REPLACE VIEW "moviedl"."v_budget_by_genre" AS
SELECT
  "g"."genre",
  "f"."title_type",
  "f"."decade",
  "t"."votes_band",
  COUNT(*) AS "titles",
  CAST(SUM("ff"."budget") AS BIGINT) AS "budget",
  CAST(SUM("ff"."revenue") AS BIGINT) AS "revenue",
  ROUND(CAST(SUM("ff"."revenue") AS DOUBLE) / SUM("ff"."budget"), 2) AS "roi"
FROM "moviedl"."fato_filme" AS "ff"
JOIN "moviedl"."dim_genero" AS "g"
  ON "g"."genre_id" = "ff"."genre_id"
JOIN "moviedl"."dim_filmes" AS "f"
  ON "f"."film_id" = "ff"."film_id"
JOIN "moviedl"."v_title_facts" AS "t"
  ON "t"."film_id" = "ff"."film_id"
WHERE
  "ff"."budget" > 0 AND "ff"."revenue" > 0
GROUP BY
  "g"."genre",
  "f"."title_type",
  "f"."decade",
  "t"."votes_band";

-- v_budget_by_year: TMDB budget and revenue (US dollars) per release year, title type, genre
-- combination (`genres`) and IMDb votes band, over the titles that have both: titles, budget and
-- revenue in total, and return on investment (revenue / budget).
CREATE OR REPLACE VIEW "moviedl"."v_budget_by_year" AS
SELECT
  "release_year",
  "decade",
  "title_type",
  "genres",
  "votes_band",
  COUNT(*) AS "titles",
  CAST(SUM("budget") AS BIGINT) AS "budget",
  CAST(SUM("revenue") AS BIGINT) AS "revenue",
  ROUND(CAST(SUM("revenue") AS DOUBLE) / SUM("budget"), 2) AS "roi"
FROM "moviedl"."v_title_facts"
WHERE
  "budget" > 0 AND "revenue" > 0 AND NOT "release_year" IS NULL
GROUP BY
  "release_year",
  "decade",
  "title_type",
  "genres",
  "votes_band";

-- v_top_rated: Titles with at least 10,000 IMDb votes, ranked by IMDb rating (rating_rank 1 is the
-- best, ties go to more votes, then the smaller film_id). Filter on imdb_votes for a higher bar.
CREATE OR REPLACE VIEW "moviedl"."v_top_rated" AS
SELECT
  ROW_NUMBER() OVER (ORDER BY "imdb_rating" DESC, "imdb_votes" DESC, "film_id") AS "rating_rank",
  "film_id",
  "title",
  "title_type",
  "release_year",
  "decade",
  "genres",
  "imdb_rating",
  "imdb_votes"
FROM "moviedl"."v_title_facts"
WHERE
  NOT "imdb_rating" IS NULL AND "imdb_votes" >= 10000;

-- v_artist_summary: Per artist, genre combination (`genres`), decade of release, title type and
-- IMDb votes band (v_title_facts): titles they are credited in, how many have an IMDb rating,
-- their average rating and their IMDb votes in total. Sum an artist's rows (the average weighted
-- by rated_titles) for their figures, under any filter on genres, decade, type or votes band, then
-- order by titles, or by the average rating with a floor on rated_titles, for the top artists.
CREATE OR REPLACE VIEW "moviedl"."v_artist_summary" AS
SELECT
  "a"."artist_id",
  "a"."name",
  "a"."gender",
  "a"."birth_year",
  "t"."genres",
  "t"."decade",
  "t"."title_type",
  "t"."votes_band",
  COUNT(*) AS "titles",
  COUNT("t"."imdb_rating") AS "rated_titles",
  ROUND(AVG("t"."imdb_rating"), 2) AS "avg_imdb_rating",
  CAST(SUM("t"."imdb_votes") AS BIGINT) AS "total_imdb_votes"
FROM "moviedl"."fato_elenco" AS "e"
JOIN "moviedl"."dim_artista" AS "a"
  ON "a"."artist_id" = "e"."artist_id"
JOIN "moviedl"."v_title_facts" AS "t"
  ON "t"."film_id" = "e"."film_id"
GROUP BY
  "a"."artist_id",
  "a"."name",
  "a"."gender",
  "a"."birth_year",
  "t"."genres",
  "t"."decade",
  "t"."title_type",
  "t"."votes_band";

-- v_cast_gender: Credits per genre, title type, decade, IMDb votes band (v_title_facts) and artist
-- gender ('female', 'male', 'unknown'): generoArtista reads actor/actress in the IMDb-derived
-- files and M/F in some exports.
CREATE OR REPLACE VIEW "moviedl"."v_cast_gender" AS
SELECT
  "g"."genre",
  "f"."title_type",
  "f"."decade",
  "t"."votes_band",
  CASE
    WHEN LOWER(TRIM("a"."gender")) IN ('f', 'actress')
    THEN 'female'
    WHEN LOWER(TRIM("a"."gender")) IN ('m', 'actor')
    THEN 'male'
    ELSE 'unknown'
  END AS "gender",
  COUNT(*) AS "credits"
FROM "moviedl"."fato_elenco" AS "e"
JOIN "moviedl"."dim_artista" AS "a"
  ON "a"."artist_id" = "e"."artist_id"
JOIN "moviedl"."dim_filmes" AS "f"
  ON "f"."film_id" = "e"."film_id"
JOIN "moviedl"."fato_filme" AS "ff"
  ON "ff"."film_id" = "e"."film_id"
JOIN "moviedl"."dim_genero" AS "g"
  ON "g"."genre_id" = "ff"."genre_id"
JOIN "moviedl"."v_title_facts" AS "t"
  ON "t"."film_id" = "e"."film_id"
GROUP BY
  1,
  2,
  3,
  4,
  5;
