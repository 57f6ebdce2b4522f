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
-- genre row of the title) and its genres joined by ', '. The other views build on it.
CREATE OR REPLACE VIEW v_title_facts AS
SELECT
    f.film_id,
    f.imdb_id,
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
    max(ff.artist_count) AS artist_count
FROM dim_filmes AS f
LEFT JOIN fato_filme AS ff ON ff.film_id = f.film_id
LEFT JOIN dim_genero AS g ON g.genre_id = ff.genre_id
GROUP BY
    f.film_id, f.imdb_id, f.title, f.original_title, f.title_type, f.release_year, f.decade,
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

-- v_budget_revenue: Budget against revenue (TMDB, US dollars) for every title that has both.
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
    imdb_rating
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
