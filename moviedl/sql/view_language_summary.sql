-- Per original language (TMDB's ISO 639-1 code, NULL without TMDB data), title type, decade of
-- release, genre combination (`genres`) and IMDb votes band: titles, rated titles and their
-- average IMDb rating.
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
