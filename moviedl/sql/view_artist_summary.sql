-- Per artist, genre combination (`genres`), decade of release, title type and IMDb votes band
-- (v_title_facts): titles they are credited in, how many have an IMDb rating, their average
-- rating and their IMDb votes in total. Sum an artist's rows (the average weighted by
-- rated_titles) for their figures, under any filter on genres, decade, type or votes band, then
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
