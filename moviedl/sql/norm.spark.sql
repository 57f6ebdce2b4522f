-- Spark's text of norm.sql: the same normalisation. Spark's regexp_replace has no 'g' flag (it
-- replaces every match) and its \s is Java's, so the white space DuckDB's \s matches is spelled
-- out; trim, lower and nfc_normalize mean what they mean in DuckDB (the engine's rules).
CREATE OR REPLACE TEMP MACRO norm(s) AS regexp_replace(lower(trim(nfc_normalize(s))), '[\\t\\n\\f\\r ]+', ' ');
