-- Per genre, decade of release, title type and IMDb votes band (v_title_facts): titles (a title
-- counts once in each of its genres), how many have an IMDb rating, their average rating and
-- their IMDb votes in total. Titles without a release year have a NULL decade. Genre popularity
-- over time reads it.
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
