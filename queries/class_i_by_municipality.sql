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
--   |---|---|---|---|---|---|---|---|---|
--   | 543 | 96 | 428.5 | 7:09 | 384 | 479 | 0.302 | 457.385 | 360 |
--   | 505 | 86 | 402 | 6:42 | 380 | 430 | 0.326 | 465.988 | 360 |
--   | 858 | 72 | 356.5 | 5:57 | 315 | 385 | 0.528 | 383.181 | 360 |
--   | 245 | 163 | 273 | 4:33 | 255 | 290 | 0.822 | 291.656 | 360 |
--   | 092 | 1325 | 255 | 4:15 | 247 | 262 | 0.827 | 271.675 | 360 |
--   | 186 | 320 | 213 | 3:33 | 203 | 228 | 0.931 | 244.812 | 360 |
--   | 106 | 158 | 183 | 3:03 | 174 | 196 | 0.918 | 248.12 | 360 |
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
  AND r.year BETWEEN p.year - 1 AND p.year + 1
  AND r.call_at >= year_start(p.year) AND r.call_at < year_start(p.year + 1)
GROUP BY r.municipality_code
ORDER BY median_s DESC, r.municipality_code
