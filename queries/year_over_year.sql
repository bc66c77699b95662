-- Question: How did each risk class's median response time and share within target change from year to year?
-- Measured urgent tasks by local calendar year and risk class: count, median, share within
-- target, and the change from the class's previous year (seconds and share points). The last
-- $years years with measured tasks are listed.
--
-- Parameters:
--   $years INTEGER = 5   how many of the latest years to list
--
-- Example (demo lake):
--   | risk_class | year | tasks | median_s | median_mmss | share_within | median_change_s | share_change | target_s |
WITH yearly AS (
    SELECT r.risk_class,
           year(local_time(r.call_at)) AS year,
           count(*) AS tasks,
           median(r.response_s) AS median_s,
           share_within(r.response_s, r.target_s) AS share_within,
           any_value(r.target_s) AS target_s
    FROM responses AS r
    WHERE r.is_measured AND r.risk_class IS NOT NULL
    GROUP BY ALL
),
compared AS (
    SELECT *,
           median_s - lag(median_s) OVER (PARTITION BY risk_class ORDER BY year) AS median_change_s,
           share_within - lag(share_within) OVER (PARTITION BY risk_class ORDER BY year) AS share_change
    FROM yearly
)
SELECT risk_class, year, tasks, median_s, mmss(median_s) AS median_mmss, share_within,
       median_change_s, share_change, target_s
FROM compared
WHERE year > (SELECT max(year) FROM yearly) - CAST($years AS INTEGER)
ORDER BY risk_class, year
