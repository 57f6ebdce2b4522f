-- Movies against series per decade of release, genre combination (`genres`, as in v_title_facts)
-- and IMDb votes band: titles, rated titles, average IMDb rating, IMDb votes in total and average
-- runtime. A title counts once: to filter on a genre, match it in genres (Athena:
-- contains(split(genres, ', '), 'Drama')) rather than summing per genre.
-- Titles without a release year have a NULL decade.
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
