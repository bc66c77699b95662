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
  AND r.year BETWEEN p.year - 1 AND p.year + 1 AND year(local_time(r.call_at)) = p.year
ORDER BY r.call_at DESC, r.incident_id
LIMIT CAST($limit AS INTEGER)
