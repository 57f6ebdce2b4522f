-- Per genre: titles (a title counts once in each of its genres), movies, series, average IMDb
-- rating, IMDb votes, average TMDB popularity and how many titles have TMDB data.
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
