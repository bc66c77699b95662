-- Question: How fast were urgent tasks in risk class I areas reached, by the station of the first unit on scene?
-- Measured urgent tasks of the local calendar year in cells of the class, grouped by the station
-- of the first counted unit on scene: count, median response time with its 95 % interval, share
-- within target, and the first unit's median turnout (alarm to en route) and travel (en route to
-- on scene), which tell a slow station from a far one.
--
-- Parameters:
--   $risk_class VARCHAR = 'I'   risk class of the cells (I-IV)
--   $year INTEGER = NULL        local calendar year; NULL: the latest year with measured tasks
--
-- Example (demo lake):
--   | station_id | tasks | median_s | median_mmss | ci_low_s | ci_high_s | share_within | median_turnout_s | median_travel_s |
WITH params AS (
    SELECT CAST($risk_class AS VARCHAR) AS risk_class,
           coalesce(CAST($year AS INTEGER), latest_year()) AS year
)
SELECT r.station_id,
       count(*) AS tasks,
       median(r.response_s) AS median_s,
       mmss(median(r.response_s)) AS median_mmss,
       median_ci_low(r.response_s) AS ci_low_s,
       median_ci_high(r.response_s) AS ci_high_s,
       share_within(r.response_s, r.target_s) AS share_within,
       median(r.turnout_s) AS median_turnout_s,
       median(r.travel_s) AS median_travel_s
FROM responses AS r, params AS p
WHERE r.is_measured AND r.risk_class = p.risk_class
  AND r.year BETWEEN p.year - 1 AND p.year + 1 AND year(local_time(r.call_at)) = p.year
GROUP BY r.station_id
ORDER BY tasks DESC, r.station_id
