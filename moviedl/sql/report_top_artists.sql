-- Top artists (v_artist_summary): the $top with most titles, and the $top best rated among
-- those with at least $min_rated rated titles. The page shows each list as a sortable table.
SELECT 'titles' AS ranking, name, gender, birth_year, titles, rated_titles, avg_imdb_rating, total_imdb_votes
FROM (SELECT * FROM v_artist_summary ORDER BY titles DESC, total_imdb_votes DESC NULLS LAST, artist_id LIMIT $top)
UNION ALL
SELECT 'rating' AS ranking, name, gender, birth_year, titles, rated_titles, avg_imdb_rating, total_imdb_votes
FROM (SELECT * FROM v_artist_summary WHERE rated_titles >= $min_rated
      ORDER BY avg_imdb_rating DESC, rated_titles DESC, artist_id LIMIT $top);
