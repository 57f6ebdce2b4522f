-- IMDb ratings in bins of 0.5 (rating_bin 7.5 holds 7.5 to 7.9, and a 10 falls in the 9.5 bin),
-- per title type, decade of release, genre combination (`genres`) and IMDb votes band.
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
