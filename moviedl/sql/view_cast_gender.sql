-- Credits per genre, title type, decade, IMDb votes band (v_title_facts) and artist gender
-- ('female', 'male', 'unknown'): generoArtista reads actor/actress in the IMDb-derived files and
-- M/F in some exports.
CREATE OR REPLACE VIEW v_cast_gender AS
SELECT
    g.genre,
    f.title_type,
    f.decade,
    t.votes_band,
    CASE
        WHEN lower(trim(a.gender)) IN ('f', 'actress') THEN 'female'
        WHEN lower(trim(a.gender)) IN ('m', 'actor') THEN 'male'
        ELSE 'unknown'
    END AS gender,
    count(*) AS credits
FROM fato_elenco AS e
JOIN dim_artista AS a ON a.artist_id = e.artist_id
JOIN dim_filmes AS f ON f.film_id = e.film_id
JOIN fato_filme AS ff ON ff.film_id = e.film_id
JOIN dim_genero AS g ON g.genre_id = ff.genre_id
JOIN v_title_facts AS t ON t.film_id = e.film_id
GROUP BY 1, 2, 3, 4, 5;
