-- Question: How fast were urgent tasks in risk class I areas reached in each municipality?
-- Measured urgent tasks of the local calendar year in cells of the class, by the incident's
-- municipality (from the export, else from its cell): count, median response time with its
-- distribution-free 95 % interval, share within the class's target and mean. A median of a
-- handful of tasks is noise: read the interval and the count before the median.
--
-- Parameters:
--   $risk_class VARCHAR = 'I'   risk class of the cells (I-IV)
--   $year INTEGER = NULL        local calendar year; NULL: the latest year with measured tasks
--
-- Example (demo lake):
--   | municipality_code | tasks | median_s | median_mmss | ci_low_s | ci_high_s | share_within | mean_s | target_s |
WITH params AS (
    SELECT CAST($risk_class AS VARCHAR) AS risk_class,
           coalesce(CAST($year AS INTEGER), latest_year()) AS year
)
SELECT r.municipality_code,
       count(*) AS tasks,
       median(r.response_s) AS median_s,
       mmss(median(r.response_s)) AS median_mmss,
       median_ci_low(r.response_s) AS ci_low_s,
       median_ci_high(r.response_s) AS ci_high_s,
       share_within(r.response_s, r.target_s) AS share_within,
       avg(r.response_s) AS mean_s,
       any_value(r.target_s) AS target_s
FROM responses AS r, params AS p
WHERE r.is_measured AND r.risk_class = p.risk_class
  AND r.year BETWEEN p.year - 1 AND p.year + 1 AND year(local_time(r.call_at)) = p.year
GROUP BY r.municipality_code
ORDER BY median_s DESC, r.municipality_code
