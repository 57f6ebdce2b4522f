-- Per decade of release: titles, movies, series, average IMDb rating, IMDb votes and average
-- runtime. Titles without a release year are left out.
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
