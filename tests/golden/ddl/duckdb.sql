-- moviedl athena-ddl --dialect duckdb: views over the Parquet files of the lake at <lake>
-- Run in DuckDB as they are (duckdb -c '.read FILE', or con.execute per statement).

-- trusted_movies: one row per distinct movies.csv row (title x principal artist)
CREATE OR REPLACE VIEW trusted_movies AS
SELECT * FROM read_parquet('<lake>/Trusted/Local/Parquet/Movies/**/*.parquet', hive_partitioning = true, hive_types = {'dt': 'VARCHAR'});

-- trusted_series: one row per distinct series.csv row (title x principal artist)
CREATE OR REPLACE VIEW trusted_series AS
SELECT * FROM read_parquet('<lake>/Trusted/Local/Parquet/Series/**/*.parquet', hive_partitioning = true, hive_types = {'dt': 'VARCHAR'});

-- trusted_tmdb_movies: one row per movie found on TMDB
CREATE OR REPLACE VIEW trusted_tmdb_movies AS
SELECT * FROM read_parquet('<lake>/Trusted/TMDB/Parquet/Movies/**/*.parquet', hive_partitioning = true, hive_types = {'dt': 'VARCHAR'});

-- trusted_tmdb_series: one row per series found on TMDB
CREATE OR REPLACE VIEW trusted_tmdb_series AS
SELECT * FROM read_parquet('<lake>/Trusted/TMDB/Parquet/Series/**/*.parquet', hive_partitioning = true, hive_types = {'dt': 'VARCHAR'});

-- dim_filmes: one row per title (movies and series)
CREATE OR REPLACE VIEW dim_filmes AS
SELECT * FROM read_parquet('<lake>/Refined/DimFilmes/**/*.parquet', hive_partitioning = false);

-- dim_genero: one row per genre
CREATE OR REPLACE VIEW dim_genero AS
SELECT * FROM read_parquet('<lake>/Refined/DimGenero/**/*.parquet', hive_partitioning = false);

-- dim_artista: one row per artist (name + birth year)
CREATE OR REPLACE VIEW dim_artista AS
SELECT * FROM read_parquet('<lake>/Refined/DimArtista/**/*.parquet', hive_partitioning = false);

-- fato_filme: one row per (title, genre)
CREATE OR REPLACE VIEW fato_filme AS
SELECT * FROM read_parquet('<lake>/Refined/FatoFilme/**/*.parquet', hive_partitioning = false);

-- fato_elenco: one row per (title, artist)
CREATE OR REPLACE VIEW fato_elenco AS
SELECT * FROM read_parquet('<lake>/Refined/FatoElenco/**/*.parquet', hive_partitioning = false);

-- v_title_facts: One row per title with its title-level measures (FatoFilme repeats them on each
-- genre row of the title), its genres joined by ', ' and its IMDb votes band (the largest of 0,
-- 1k, 10k, 100k and 1M it reaches, 0 without votes), the grain a minimum-votes filter needs. The
-- other views build on it.
CREATE OR REPLACE VIEW v_title_facts AS
SELECT
    f.film_id,
    f.imdb_id,
    f.tmdb_id,
    f.title,
    f.original_title,
    f.title_type,
    f.release_year,
    f.decade,
    f.runtime_minutes,
    f.original_language,
    string_agg(g.genre, ', ' ORDER BY g.genre) AS genres,
    max(ff.imdb_rating) AS imdb_rating,
    max(ff.imdb_votes) AS imdb_votes,
    max(ff.tmdb_popularity) AS tmdb_popularity,
    max(ff.tmdb_vote_average) AS tmdb_vote_average,
    max(ff.tmdb_vote_count) AS tmdb_vote_count,
    max(ff.budget) AS budget,
    max(ff.revenue) AS revenue,
    max(ff.artist_count) AS artist_count,
    CASE
        WHEN max(ff.imdb_votes) >= 1000000 THEN 1000000
        WHEN max(ff.imdb_votes) >= 100000 THEN 100000
        WHEN max(ff.imdb_votes) >= 10000 THEN 10000
        WHEN max(ff.imdb_votes) >= 1000 THEN 1000
        ELSE 0
    END AS votes_band
FROM dim_filmes AS f
LEFT JOIN fato_filme AS ff ON ff.film_id = f.film_id
LEFT JOIN dim_genero AS g ON g.genre_id = ff.genre_id
GROUP BY
    f.film_id, f.imdb_id, f.tmdb_id, f.title, f.original_title, f.title_type, f.release_year, f.decade,
    f.runtime_minutes, f.original_language;

-- v_genre_summary: Per genre: titles (a title counts once in each of its genres), movies, series,
-- average IMDb rating, IMDb votes, average TMDB popularity and how many titles have TMDB data.
CREATE OR REPLACE VIEW v_genre_summary AS
SELECT
    g.genre,
    count(*) AS titles,
    count(*) FILTER (WHERE f.title_type = 'movie') AS movies,
    count(*) FILTER (WHERE f.title_type = 'series') AS series,
    round(avg(ff.imdb_rating), 2) AS avg_imdb_rating,
    CAST(sum(ff.imdb_votes) AS BIGINT) AS imdb_votes,
    round(avg(ff.tmdb_popularity), 2) AS avg_tmdb_popularity,
    count(ff.tmdb_popularity) AS titles_with_tmdb
FROM fato_filme AS ff
JOIN dim_genero AS g ON g.genre_id = ff.genre_id
JOIN dim_filmes AS f ON f.film_id = ff.film_id
GROUP BY g.genre;

-- v_decade_summary: Per decade of release: titles, movies, series, average IMDb rating, IMDb votes
-- and average runtime. Titles without a release year are left out.
CREATE OR REPLACE VIEW v_decade_summary AS
SELECT
    decade,
    count(*) AS titles,
    count(*) FILTER (WHERE title_type = 'movie') AS movies,
    count(*) FILTER (WHERE title_type = 'series') AS series,
    round(avg(imdb_rating), 2) AS avg_imdb_rating,
    CAST(sum(imdb_votes) AS BIGINT) AS imdb_votes,
    round(avg(runtime_minutes), 1) AS avg_runtime_minutes
FROM v_title_facts
WHERE decade IS NOT NULL
GROUP BY decade;

-- v_budget_revenue: Budget against revenue (TMDB, US dollars) for every title that has both, with
-- its IMDb rating and votes.
CREATE OR REPLACE VIEW v_budget_revenue AS
SELECT
    film_id,
    title,
    title_type,
    release_year,
    decade,
    genres,
    budget,
    revenue,
    revenue - budget AS profit,
    round(CAST(revenue AS DOUBLE) / budget, 2) AS revenue_to_budget,
    imdb_rating,
    imdb_votes
FROM v_title_facts
WHERE budget > 0 AND revenue > 0;

-- v_top_titles: The 100 titles with the most IMDb votes, ranked 1 to 100 (ties broken by film_id).
CREATE OR REPLACE VIEW v_top_titles AS
SELECT
    vote_rank,
    film_id,
    title,
    title_type,
    release_year,
    genres,
    imdb_rating,
    imdb_votes
FROM (
    SELECT
        *,
        row_number() OVER (ORDER BY imdb_votes DESC, film_id) AS vote_rank
    FROM v_title_facts
    WHERE imdb_votes IS NOT NULL
) AS ranked
WHERE vote_rank <= 100;

-- v_genre_decade: Per genre, decade of release, title type and IMDb votes band (v_title_facts):
-- titles (a title counts once in each of its genres), how many have an IMDb rating, their average
-- rating and their IMDb votes in total. Titles without a release year have a NULL decade. Genre
-- popularity over time reads it.
CREATE OR REPLACE VIEW v_genre_decade AS
SELECT
    g.genre,
    f.decade,
    f.title_type,
    t.votes_band,
    count(*) AS titles,
    count(ff.imdb_rating) AS rated_titles,
    round(avg(ff.imdb_rating), 2) AS avg_imdb_rating,
    CAST(sum(ff.imdb_votes) AS BIGINT) AS total_imdb_votes
FROM fato_filme AS ff
JOIN dim_genero AS g ON g.genre_id = ff.genre_id
JOIN dim_filmes AS f ON f.film_id = ff.film_id
JOIN v_title_facts AS t ON t.film_id = ff.film_id
GROUP BY g.genre, f.decade, f.title_type, t.votes_band;

-- v_kind_decade: Movies against series per decade of release, genre combination (`genres`, as in
-- v_title_facts) and IMDb votes band: titles, rated titles, average IMDb rating, IMDb votes in
-- total and average runtime. A title counts once: to filter on a genre, match it in genres
-- (Athena: contains(split(genres, ', '), 'Drama')) rather than summing per genre. Titles without a
-- release year have a NULL decade.
CREATE OR REPLACE VIEW v_kind_decade AS
SELECT
    title_type,
    decade,
    genres,
    votes_band,
    count(*) AS titles,
    count(imdb_rating) AS rated_titles,
    round(avg(imdb_rating), 2) AS avg_imdb_rating,
    CAST(sum(imdb_votes) AS BIGINT) AS total_imdb_votes,
    count(runtime_minutes) AS timed_titles,
    round(avg(runtime_minutes), 1) AS avg_runtime_minutes
FROM v_title_facts
GROUP BY title_type, decade, genres, votes_band;

-- v_rating_distribution: IMDb ratings in bins of 0.5 (rating_bin 7.5 holds 7.5 to 7.9, and a 10
-- falls in the 9.5 bin), per title type, decade of release, genre combination (`genres`) and IMDb
-- votes band.
CREATE OR REPLACE VIEW v_rating_distribution AS
SELECT
    title_type,
    decade,
    genres,
    votes_band,
    least(floor(imdb_rating * 2) / 2, 9.5) AS rating_bin,
    count(*) AS titles
FROM v_title_facts
WHERE imdb_rating IS NOT NULL
GROUP BY title_type, decade, genres, votes_band, least(floor(imdb_rating * 2) / 2, 9.5);

-- v_runtime_distribution: Runtimes in bins of 15 minutes (runtime_bin 90 holds 90 to 104 minutes,
-- 240 holds 4 hours and more), per title type, decade of release, genre combination (`genres`) and
-- IMDb votes band. For series the runtime is an episode's.
CREATE OR REPLACE VIEW v_runtime_distribution AS
SELECT
    title_type,
    decade,
    genres,
    votes_band,
    CAST(least(floor(runtime_minutes / 15) * 15, 240) AS INTEGER) AS runtime_bin,
    count(*) AS titles
FROM v_title_facts
WHERE runtime_minutes IS NOT NULL AND runtime_minutes > 0
GROUP BY title_type, decade, genres, votes_band, CAST(least(floor(runtime_minutes / 15) * 15, 240) AS INTEGER);

-- v_language_summary: Per original language (TMDB's ISO 639-1 code, NULL without TMDB data), title
-- type, decade of release, genre combination (`genres`) and IMDb votes band: titles, rated titles
-- and their average IMDb rating.
CREATE OR REPLACE VIEW v_language_summary AS
SELECT
    original_language,
    title_type,
    decade,
    genres,
    votes_band,
    count(*) AS titles,
    count(imdb_rating) AS rated_titles,
    round(avg(imdb_rating), 2) AS avg_imdb_rating
FROM v_title_facts
GROUP BY original_language, title_type, decade, genres, votes_band;

-- v_tmdb_coverage: How many titles have TMDB data, per title type, decade of release, genre
-- combination (`genres`) and IMDb votes band: titles, with_tmdb, without_tmdb and the share
-- covered (0 to 1).
CREATE OR REPLACE VIEW v_tmdb_coverage AS
SELECT
    title_type,
    decade,
    genres,
    votes_band,
    count(*) AS titles,
    count(tmdb_id) AS with_tmdb,
    count(*) - count(tmdb_id) AS without_tmdb,
    round(CAST(count(tmdb_id) AS DOUBLE) / count(*), 4) AS coverage
FROM v_title_facts
GROUP BY title_type, decade, genres, votes_band;

-- v_budget_by_genre: TMDB budget and revenue (US dollars) per genre, title type, decade and IMDb
-- votes band (v_title_facts), over the titles that have both: titles, budget and revenue in total,
-- and return on investment (revenue / budget). A title counts once in each of its genres.
CREATE OR REPLACE VIEW v_budget_by_genre AS
SELECT
    g.genre,
    f.title_type,
    f.decade,
    t.votes_band,
    count(*) AS titles,
    CAST(sum(ff.budget) AS BIGINT) AS budget,
    CAST(sum(ff.revenue) AS BIGINT) AS revenue,
    round(CAST(sum(ff.revenue) AS DOUBLE) / sum(ff.budget), 2) AS roi
FROM fato_filme AS ff
JOIN dim_genero AS g ON g.genre_id = ff.genre_id
JOIN dim_filmes AS f ON f.film_id = ff.film_id
JOIN v_title_facts AS t ON t.film_id = ff.film_id
WHERE ff.budget > 0 AND ff.revenue > 0
GROUP BY g.genre, f.title_type, f.decade, t.votes_band;

-- v_budget_by_year: TMDB budget and revenue (US dollars) per release year, title type, genre
-- combination (`genres`) and IMDb votes band, over the titles that have both: titles, budget and
-- revenue in total, and return on investment (revenue / budget).
CREATE OR REPLACE VIEW v_budget_by_year AS
SELECT
    release_year,
    decade,
    title_type,
    genres,
    votes_band,
    count(*) AS titles,
    CAST(sum(budget) AS BIGINT) AS budget,
    CAST(sum(revenue) AS BIGINT) AS revenue,
    round(CAST(sum(revenue) AS DOUBLE) / sum(budget), 2) AS roi
FROM v_title_facts
WHERE budget > 0 AND revenue > 0 AND release_year IS NOT NULL
GROUP BY release_year, decade, title_type, genres, votes_band;

-- v_top_rated: Titles with at least 10,000 IMDb votes, ranked by IMDb rating (rating_rank 1 is the
-- best, ties go to more votes, then the smaller film_id). Filter on imdb_votes for a higher bar.
CREATE OR REPLACE VIEW v_top_rated AS
SELECT
    row_number() OVER (ORDER BY imdb_rating DESC, imdb_votes DESC, film_id) AS rating_rank,
    film_id,
    title,
    title_type,
    release_year,
    decade,
    genres,
    imdb_rating,
    imdb_votes
FROM v_title_facts
WHERE imdb_rating IS NOT NULL AND imdb_votes >= 10000;

-- v_artist_summary: Per artist, genre combination (`genres`), decade of release, title type and
-- IMDb votes band (v_title_facts): titles they are credited in, how many have an IMDb rating,
-- their average rating and their IMDb votes in total. Sum an artist's rows (the average weighted
-- by rated_titles) for their figures, under any filter on genres, decade, type or votes band, then
-- order by titles, or by the average rating with a floor on rated_titles, for the top artists.
CREATE OR REPLACE VIEW v_artist_summary AS
SELECT
    a.artist_id,
    a.name,
    a.gender,
    a.birth_year,
    t.genres,
    t.decade,
    t.title_type,
    t.votes_band,
    count(*) AS titles,
    count(t.imdb_rating) AS rated_titles,
    round(avg(t.imdb_rating), 2) AS avg_imdb_rating,
    CAST(sum(t.imdb_votes) AS BIGINT) AS total_imdb_votes
FROM fato_elenco AS e
JOIN dim_artista AS a ON a.artist_id = e.artist_id
JOIN v_title_facts AS t ON t.film_id = e.film_id
GROUP BY a.artist_id, a.name, a.gender, a.birth_year, t.genres, t.decade, t.title_type, t.votes_band;

-- v_cast_gender: Credits per genre, title type, decade, IMDb votes band (v_title_facts) and artist
-- gender ('female', 'male', 'unknown'): generoArtista reads actor/actress in the IMDb-derived
-- files and M/F in some exports.
CREATE OR REPLACE VIEW v_cast_gender AS
SELECT
    g.genre,
    f.title_type,
    f.decade,
    t.votes_band,
    CASE
        WHEN lower(trim(a.gender)) IN ('f', 'actress') THEN 'female'
        WHEN lower(trim(a.gender)) IN ('m', 'actor') THEN 'male'
        ELSE 'unknown'
    END AS gender,
    count(*) AS credits
FROM fato_elenco AS e
JOIN dim_artista AS a ON a.artist_id = e.artist_id
JOIN dim_filmes AS f ON f.film_id = e.film_id
JOIN fato_filme AS ff ON ff.film_id = e.film_id
JOIN dim_genero AS g ON g.genre_id = ff.genre_id
JOIN v_title_facts AS t ON t.film_id = e.film_id
GROUP BY 1, 2, 3, 4, 5;
