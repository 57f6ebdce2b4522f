-- IMDb rating distribution in bins of 0.5 (a 10 falls in the last bin).
SELECT least(floor(imdb_rating * 2) / 2, 9.5) AS bin, count(*) AS titles
FROM title_facts
WHERE imdb_rating IS NOT NULL
GROUP BY bin
ORDER BY bin;
