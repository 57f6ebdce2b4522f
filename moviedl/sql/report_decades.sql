SELECT decade, count(*) AS titles
FROM films
WHERE decade IS NOT NULL
GROUP BY decade
ORDER BY decade;
