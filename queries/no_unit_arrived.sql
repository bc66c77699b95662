-- Question: Which urgent incidents had no unit on scene, and why?
-- Incidents of the local calendar year without a response time: no counted unit was alarmed
-- (no_counted_unit), the alarm time is missing (no_alarm_time), or no counted unit recorded an
-- on-scene time (no_unit_arrived: cancelled on the way, or not recorded). These never enter the
-- medians. One row per incident, newest first: for checking the dispatch log, not for
-- publishing (single incidents are personal data).
--
-- Parameters:
--   $year INTEGER = NULL          local calendar year; NULL: the latest year with measured tasks
--   $urgent_only BOOLEAN = true   only urgent incidents (counting.urgent_classes)
--   $limit INTEGER = 100          how many incidents to list
--
-- Example (demo lake):
--   | incident_id | call_local | urgency | task_type | municipality_code | risk_class | units_counted | no_response_reason |
--   |---|---|---|---|---|---|---|---|
--   | 2025-008006 | 2025-12-29 05:37:59 | B | 703 hengitysvaikeus | 106 | II | 1 | no_unit_arrived |
--   | 2025-007827 | 2025-12-20 10:05:56 | B | 202 tieliikenneonnettomuus: pieni | 106 | III | 3 | no_unit_arrived |
--   | 2025-007823 | 2025-12-19 23:11:42 | B | 103 palohälytys | 106 | II | 3 | no_unit_arrived |
--   | 2025-007756 | 2025-12-16 13:32:37 | A | 402 rakennuspalo: keskisuuri | 186 | II | 7 | no_unit_arrived |
--   | 2025-007737 | 2025-12-15 20:58:14 | B | 704 rintakipu | 092 | I | 1 | no_unit_arrived |
--   | 2025-007616 | 2025-12-10 18:36:43 | B | 201 tieliikenneonnettomuus: peltikolari, suistuminen | 106 | I | 1 | no_unit_arrived |
--   | 2025-007493 | 2025-12-06 00:43:05 | B | 103 palohälytys | 245 | I | 3 | no_unit_arrived |
--   | 2025-007491 | 2025-12-05 23:17:57 | B | 480 ihmisen pelastaminen: muu | 092 | I | 4 | no_unit_arrived |
--   (92 more rows)
WITH params AS (
    SELECT coalesce(CAST($year AS INTEGER), latest_year()) AS year,
           CAST($urgent_only AS BOOLEAN) AS urgent_only
)
SELECT r.incident_id,
       strftime(local_time(r.call_at), '%Y-%m-%d %H:%M:%S') AS call_local,
       r.urgency,
       r.task_type,
       r.municipality_code,
       r.risk_class,
       r.units_counted,
       r.no_response_reason
FROM responses AS r, params AS p
WHERE r.response_s IS NULL AND (r.is_urgent OR NOT p.urgent_only)
  AND r.year BETWEEN p.year - 1 AND p.year + 1
  AND r.call_at >= year_start(p.year) AND r.call_at < year_start(p.year + 1)
ORDER BY r.call_at DESC, r.incident_id
LIMIT CAST($limit AS INTEGER)
