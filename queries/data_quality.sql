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
--   |---|---|---|---|---|---|
--   | negative_interval | demo-synthetic-fi-erc-20250702.csv | 3 | 26 | Kohteessa | Kohteessa '30.6.2025 09:02:35' is 205 s before Matkalla |
--   | impossible_timestamp | demo-synthetic-fi-erc-20250708.csv | 2 | 33 | Kohteessa, Matkalla | Matkalla '31.2.2025 16:52:05' is not a real date and time |
--   | impossible_timestamp | demo-synthetic-fi-erc-20250804.csv | 2 | 55 | Hälytetty | Hälytetty '31.2.2025 00:16:39' is not a real date and time |
--   | impossible_timestamp | demo-synthetic-fi-erc-20250805.csv | 2 | 3 | Hälytetty | Hälytetty '31.2.2025 00:16:39' is not a real date and time |
--   | negative_interval | demo-synthetic-fi-erc-20250101.csv | 2 | 48 | Kohteessa | Kohteessa '30.12.2024 22:32:23' is 104 s before Matkalla |
--   | negative_interval | demo-synthetic-fi-erc-20250207.csv | 2 | 37 | Hälytetty, Kohteessa | Hälytetty '6.2.2025 04:52:47' is 3502 s before Vastaanotettu |
--   | negative_interval | demo-synthetic-fi-erc-20250208.csv | 2 | 5 | Hälytetty, Kohteessa | Hälytetty '6.2.2025 04:52:47' is 3502 s before Vastaanotettu |
--   | negative_interval | demo-synthetic-fi-erc-20250219.csv | 2 | 17 | Hälytetty, Kohteessa | Kohteessa '17.2.2025 09:58:28' is 58 s before Matkalla |
--   (42 more rows)
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
