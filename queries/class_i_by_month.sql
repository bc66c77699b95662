-- Question: How fast were urgent tasks in risk class I areas reached, month by month?
-- For each local calendar month of the year: the month's own measured urgent tasks (count,
-- median response time, share within the class's target) and the trailing window (12 months by
-- default, windows.trailing_days) ending at the month's last second, as the strategy judges it:
-- count, median with its distribution-free 95 % interval, share within target. The trailing
-- figures equal the rolling engine's rolling_calendar rows (grouping risk_class).
-- Months after the latest measured task, and months whose window holds no task, are left out.
--
-- Parameters:
--   $risk_class VARCHAR = 'I'   risk class of the cells (I-IV)
--   $year INTEGER = NULL        local calendar year; NULL: the latest year with measured tasks
--
-- Example (demo lake):
--   | month | tasks | median_s | median_mmss | share_within | trailing_tasks | trailing_median_s | trailing_ci_low_s | trailing_ci_high_s | trailing_share_within | target_s |
WITH params AS (
    SELECT CAST($risk_class AS VARCHAR) AS risk_class,
           coalesce(CAST($year AS INTEGER), latest_year()) AS year
),
tasks AS (
    SELECT r.call_at, r.response_s, r.target_s,
           CAST(date_trunc('month', local_time(r.call_at)) AS DATE) AS month_start
    FROM responses AS r, params AS p
    WHERE r.is_measured AND r.risk_class = p.risk_class
      AND r.year BETWEEN p.year - 2 - trailing_days() // 365 AND p.year + 1
),
months AS (
    SELECT CAST(g.month AS DATE) AS month_start,
           local_midnight(CAST(g.month AS DATE) + INTERVAL 1 MONTH) - INTERVAL 1 SECOND AS at
    FROM params AS p,
         generate_series(make_date(p.year, 1, 1), make_date(p.year, 12, 1), INTERVAL 1 MONTH) AS g(month)
    WHERE CAST(g.month AS DATE) <= (SELECT max(month_start) FROM tasks)
),
own AS (
    SELECT month_start, count(*) AS tasks, median(response_s) AS median_s,
           share_within(response_s, target_s) AS share_within
    FROM tasks
    GROUP BY month_start
),
windowed AS (
    SELECT m.month_start, count(*) AS tasks, median(t.response_s) AS median_s,
           median_ci_low(t.response_s) AS ci_low_s, median_ci_high(t.response_s) AS ci_high_s,
           share_within(t.response_s, t.target_s) AS share_within
    FROM months AS m
    JOIN tasks AS t ON t.call_at > m.at - trailing_window() AND t.call_at <= m.at
    GROUP BY m.month_start
)
SELECT strftime(m.month_start, '%Y-%m') AS month,
       coalesce(o.tasks, 0) AS tasks,
       o.median_s,
       mmss(o.median_s) AS median_mmss,
       o.share_within,
       coalesce(w.tasks, 0) AS trailing_tasks,
       w.median_s AS trailing_median_s,
       w.ci_low_s AS trailing_ci_low_s,
       w.ci_high_s AS trailing_ci_high_s,
       w.share_within AS trailing_share_within,
       target_s((SELECT risk_class FROM params)) AS target_s
FROM months AS m
LEFT JOIN own AS o USING (month_start)
LEFT JOIN windowed AS w USING (month_start)
WHERE w.tasks > 0
ORDER BY m.month_start
