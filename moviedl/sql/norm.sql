-- norm(): how names are compared for keys and grouping (genres, artists): NFC, trimmed, lower
-- case, inner white space folded to one space. refined.sql (DimGenero, DimArtista) and
-- validate_trusted_pairs.sql (the pairs FatoFilme must cover) both use it: run this file first.
CREATE OR REPLACE TEMP MACRO norm(s) AS regexp_replace(lower(trim(nfc_normalize(s))), '\s+', ' ', 'g');
