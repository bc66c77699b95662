-- Question: What makes up the response time in each risk class: call handling, turnout or travel?
-- Measured urgent tasks of the local calendar year, by risk class (no class: tasks outside the
-- risk grid). Medians of ERC processing (call to first alarm; not part of the Finnish response
-- time), the first unit's turnout (alarm to en route) and travel (en route to on scene), and the
-- response time (first alarm to first on scene), with the class's target. Medians of parts do
-- not add up to the median of the whole.
--
-- Parameters:
--   $year INTEGER = NULL   local calendar year; NULL: the latest year with measured tasks
--
-- Example (demo lake):
--   | risk_class | tasks | median_erc_s | median_turnout_s | median_travel_s | median_response_s | median_response_mmss | target_s | share_within |
WITH params AS (
    SELECT coalesce(CAST($year AS INTEGER), latest_year()) AS year
)
SELECT coalesce(r.risk_class, 'no class') AS risk_class,
       count(*) AS tasks,
       median(r.erc_s) AS median_erc_s,
       median(r.turnout_s) AS median_turnout_s,
       median(r.travel_s) AS median_travel_s,
       median(r.response_s) AS median_response_s,
       mmss(median(r.response_s)) AS median_response_mmss,
       target_s(any_value(r.risk_class)) AS target_s,
       share_within(r.response_s, r.target_s) AS share_within
FROM responses AS r, params AS p
WHERE r.is_measured
  AND r.year BETWEEN p.year - 1 AND p.year + 1 AND year(local_time(r.call_at)) = p.year
GROUP BY r.risk_class
ORDER BY r.risk_class NULLS LAST
