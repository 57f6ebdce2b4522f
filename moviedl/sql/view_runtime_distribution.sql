-- Runtimes in bins of 15 minutes (runtime_bin 90 holds 90 to 104 minutes, 240 holds 4 hours
-- and more), per title type, decade of release, genre combination (`genres`) and IMDb votes band.
-- For series the runtime is an episode's.
CREATE OR REPLACE VIEW v_runtime_distribution AS
SELECT
    title_type,
    decade,
    genres,
    votes_band,
    CAST(least(floor(runtime_minutes / 15) * 15, 240) AS INTEGER) AS runtime_bin,
    count(*) AS titles
FROM v_title_facts
WHERE runtime_minutes IS NOT NULL AND runtime_minutes > 0
GROUP BY title_type, decade, genres, votes_band, CAST(least(floor(runtime_minutes / 15) * 15, 240) AS INTEGER);
