-- Question: How did each risk class's median response time and share within target change from year to year?
-- Measured urgent tasks by local calendar year and risk class: count, the first and last local
-- day with a task, median, share within target, and the change from the class's previous year
-- (seconds and share points). The change is left out when the lake holds the previous year only
-- from February or later (its first measured task; as the flags' review period): the last days of
-- a December that the first export overlaps are not a year to compare with. The last $years years
-- with measured tasks are listed.
--
-- Parameters:
--   $years INTEGER = 5   how many of the latest years to list
--
-- Example (demo lake):
--   | risk_class | year | tasks | first_day | last_day | median_s | median_mmss | share_within | median_change_s | share_change | target_s |
--   |---|---|---|---|---|---|---|---|---|---|---|
--   | I | 2024 | 20 | 2024-12-30 | 2024-12-31 | 240.5 | 4:01 | 0.7 |  |  | 360 |
--   | I | 2025 | 2220 | 2025-01-01 | 2025-12-30 | 256 | 4:16 | 0.796 |  |  | 360 |
--   | II | 2024 | 11 | 2024-12-30 | 2024-12-31 | 368 | 6:08 | 0.909 |  |  | 600 |
--   | II | 2025 | 1814 | 2025-01-01 | 2025-12-30 | 325 | 5:25 | 0.909 |  |  | 600 |
--   | III | 2024 | 6 | 2024-12-30 | 2024-12-31 | 516.5 | 8:37 | 1 |  |  | 1200 |
--   | III | 2025 | 897 | 2025-01-01 | 2025-12-29 | 542 | 9:02 | 0.964 |  |  | 1200 |
--   | IV | 2025 | 130 | 2025-01-04 | 2025-12-25 | 734 | 12:14 | 1 |  |  | 2400 |
WITH yearly AS (
    SELECT r.risk_class,
           year(local_time(r.call_at)) AS year,
           count(*) AS tasks,
           local_time(min(r.call_at))::DATE AS first_day,
           local_time(max(r.call_at))::DATE AS last_day,
           median(r.response_s) AS median_s,
           share_within(r.response_s, r.target_s) AS share_within,
           any_value(r.target_s) AS target_s
    FROM responses AS r
    WHERE r.is_measured AND r.risk_class IS NOT NULL
    GROUP BY ALL
),
compared AS (
    SELECT y.*,
           held_from_january(lag(y.year) OVER w) AS previous_held,
           y.median_s - lag(y.median_s) OVER w AS median_change,
           y.share_within - lag(y.share_within) OVER w AS share_points
    FROM yearly AS y
    WINDOW w AS (PARTITION BY y.risk_class ORDER BY y.year)
)
SELECT risk_class, year, tasks, first_day, last_day, median_s, mmss(median_s) AS median_mmss, share_within,
       CASE WHEN previous_held THEN median_change END AS median_change_s,
       CASE WHEN previous_held THEN share_points END AS share_change,
       target_s
FROM compared
WHERE year > (SELECT max(year) FROM yearly) - CAST($years AS INTEGER)
ORDER BY risk_class, year
