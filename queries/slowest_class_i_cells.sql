-- Question: Which risk class I cells had the slowest median response in the trailing 12 months, and on how many tasks?
-- The trailing window (windows.trailing_days, 365 days by default) ends at the last second of a
-- local month. Per cell: its measured urgent tasks of the class in the window, the median
-- response time with its distribution-free 95 % interval (null under 6 tasks), the share within
-- target and how far the median is over the target. Cells with fewer than $min_tasks tasks are
-- left out. The figures equal the rolling engine's rolling_calendar rows of grouping cell.
--
-- Parameters:
--   $risk_class VARCHAR = 'I'   risk class of the cells (I-IV)
--   $month VARCHAR = NULL       the window ends with this local month (YYYY-MM); NULL: the latest month with measured tasks
--   $min_tasks INTEGER = 1      leave out cells with fewer tasks in the window
--   $limit INTEGER = 20         how many cells to list, slowest first
--
-- Example (demo lake):
--   | cell_id | tasks | median_s | median_mmss | ci_low_s | ci_high_s | share_within | over_target_s | window_end_local |
WITH params AS (
    SELECT CAST($risk_class AS VARCHAR) AS risk_class,
           local_midnight(coalesce(CAST(CAST($month AS VARCHAR) || '-01' AS DATE),
                                   (SELECT CAST(date_trunc('month', max(local_time(call_at))) AS DATE)
                                    FROM responses WHERE is_measured)) + INTERVAL 1 MONTH) - INTERVAL 1 SECOND AS at
)
SELECT r.cell_id,
       count(*) AS tasks,
       median(r.response_s) AS median_s,
       mmss(median(r.response_s)) AS median_mmss,
       median_ci_low(r.response_s) AS ci_low_s,
       median_ci_high(r.response_s) AS ci_high_s,
       share_within(r.response_s, r.target_s) AS share_within,
       median(r.response_s) - any_value(r.target_s) AS over_target_s,
       strftime(local_time(any_value(p.at)), '%Y-%m-%d %H:%M:%S') AS window_end_local
FROM responses AS r, params AS p
WHERE r.is_measured AND r.risk_class = p.risk_class
  AND r.call_at > p.at - trailing_window() AND r.call_at <= p.at
  AND r.year BETWEEN year(local_time(p.at)) - 1 - trailing_days() // 365 AND year(local_time(p.at)) + 1
GROUP BY r.cell_id
HAVING count(*) >= CAST($min_tasks AS INTEGER)
ORDER BY median_s DESC, tasks DESC, r.cell_id
LIMIT CAST($limit AS INTEGER)
