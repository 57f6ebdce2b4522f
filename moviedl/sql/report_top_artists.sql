-- Candidates for the top-artist tables (v_artist_summary) under any filter of the page: every
-- artist who is among the $top with most titles, or the $top best rated (at least $min_rated
-- rated titles), for some choice of genre (or all), decade (or all), type (or all) and minimum
-- votes ($bands). All their rows are embedded, so the page's sums under any filter are exact
-- and its top $top is among them. '*' and -1 stand for "all" while ranking.
WITH by_genre AS (
    SELECT *, unnest(list_concat(['*'], coalesce(string_split(genres, ', '), []))) AS f_genre
    FROM v_artist_summary
),
by_decade AS (
    SELECT *, unnest(CASE WHEN decade IS NULL THEN [-1] ELSE [-1, decade] END) AS f_decade FROM by_genre
),
by_kind AS (
    SELECT *, unnest(['*', title_type]) AS f_kind FROM by_decade
),
by_votes AS (
    SELECT *, unnest(list_filter($bands, lambda b: b <= votes_band)) AS f_votes FROM by_kind
),
totals AS (
    SELECT f_genre, f_decade, f_kind, f_votes, artist_id,
           sum(titles) AS titles,
           sum(rated_titles) AS rated_titles,
           sum(avg_imdb_rating * rated_titles) / nullif(sum(rated_titles), 0) AS avg_imdb_rating,
           sum(total_imdb_votes) AS total_imdb_votes
    FROM by_votes
    GROUP BY ALL
),
ranked AS (
    SELECT artist_id, rated_titles,
           row_number() OVER (PARTITION BY f_genre, f_decade, f_kind, f_votes
                              ORDER BY titles DESC, total_imdb_votes DESC NULLS LAST, artist_id) AS by_titles,
           row_number() OVER (PARTITION BY f_genre, f_decade, f_kind, f_votes
                              ORDER BY rated_titles >= $min_rated DESC, avg_imdb_rating DESC NULLS LAST,
                                       rated_titles DESC, artist_id) AS by_rating
    FROM totals
)
SELECT artist_id, name, gender, birth_year, genres, decade, title_type, votes_band, titles, rated_titles,
       avg_imdb_rating, total_imdb_votes
FROM v_artist_summary
WHERE artist_id IN (SELECT artist_id FROM ranked
                    WHERE by_titles <= $top OR (by_rating <= $top AND rated_titles >= $min_rated))
ORDER BY artist_id, genres, decade, title_type, votes_band;
