-- How many titles have TMDB data, per title type, decade of release, genre combination (`genres`)
-- and IMDb votes band: titles, with_tmdb, without_tmdb and the share covered (0 to 1).
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
