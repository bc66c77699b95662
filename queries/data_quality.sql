-- Question: Which rows did ingest reject, why, and from which export files?
-- The quarantine by reason and source file: rows, the first offending line, the source columns
-- at fault and one reason in words (with the offending value). Rows replaced by a newer export
-- (duplicate: the same values again in an overlapping export; superseded: a correction) are
-- kept in quarantine too, but are not defects: they are left out unless asked for.
--
-- Parameters:
--   $include_replaced BOOLEAN = false   also list duplicate and superseded rows
--   $limit INTEGER = 50                 how many (reason, file) rows to list, most rows first
--
-- Example (demo lake):
--   | reason_code | source_file | rows | first_line | columns | example_reason |
SELECT q.reason_code,
       q.source_file,
       count(*) AS rows,
       min(q.source_row) AS first_line,
       string_agg(DISTINCT q."column", ', ' ORDER BY q."column") AS columns,
       arg_min(q.reason, q.source_row) AS example_reason
FROM quarantine AS q
WHERE CAST($include_replaced AS BOOLEAN) OR q.reason_code NOT IN ('duplicate', 'superseded')
GROUP BY q.reason_code, q.source_file
ORDER BY rows DESC, q.reason_code, q.source_file
LIMIT CAST($limit AS INTEGER)
