-- norm(): how names are compared for keys and grouping (genres, artists): NFC, trimmed, lower
-- case, inner white space folded to one space. refined.sql (DimGenero, DimArtista) and
-- validate_trusted_pairs.sql (the pairs FatoFilme must cover) both use it: run this file first.
-- fold_white_space(t): runs of RE2's \s (tab, line feed, form feed, carriage return, space) as
-- one space. The regular expression runs only on a text holding two spaces in a row or one of
-- those control characters: nearly no name does, and it was two thirds of norm()'s time (1.2M
-- artist names: 0.18 s against 0.48-0.56 s).
CREATE OR REPLACE TEMP MACRO fold_white_space(t) AS
    CASE WHEN contains(t, '  ') OR contains(t, chr(9)) OR contains(t, chr(10))
              OR contains(t, chr(12)) OR contains(t, chr(13))
         THEN regexp_replace(t, '\s+', ' ', 'g')
         ELSE t END;
CREATE OR REPLACE TEMP MACRO norm(s) AS fold_white_space(lower(trim(nfc_normalize(s))));
