-- Per artist: titles they are credited in, how many of those have an IMDb rating, the average
-- rating and the IMDb votes of those titles in total. Order by titles or by avg_imdb_rating
-- (with a floor on rated_titles) for the top artists.
CREATE OR REPLACE VIEW v_artist_summary AS
SELECT
    a.artist_id,
    a.name,
    a.gender,
    a.birth_year,
    count(*) AS titles,
    count(t.imdb_rating) AS rated_titles,
    round(avg(t.imdb_rating), 2) AS avg_imdb_rating,
    CAST(sum(t.imdb_votes) AS BIGINT) AS total_imdb_votes
FROM fato_elenco AS e
JOIN dim_artista AS a ON a.artist_id = e.artist_id
JOIN v_title_facts AS t ON t.film_id = e.film_id
GROUP BY a.artist_id, a.name, a.gender, a.birth_year;
