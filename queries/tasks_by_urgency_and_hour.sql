-- Question: How many tasks of each urgency arrive at each hour of the day, and how fast are they reached?
-- Every incident of the local calendar year by the local hour of its call (time.zone,
-- Europe/Helsinki by default; the repeated autumn hour counts twice into its hour) and its
-- urgency class: tasks, the hour's share of that urgency's tasks, and the median response time
-- of those measured.
--
-- Parameters:
--   $year INTEGER = NULL   local calendar year; NULL: the latest year with measured tasks
--
-- Example (demo lake):
--   | hour | urgency | is_urgent | tasks | share_of_urgency | measured | median_response_s |
WITH params AS (
    SELECT coalesce(CAST($year AS INTEGER), latest_year()) AS year
),
tasks AS (
    SELECT hour(local_time(r.call_at)) AS hour, r.urgency, r.is_urgent, r.is_measured, r.response_s
    FROM responses AS r, params AS p
    WHERE r.year BETWEEN p.year - 1 AND p.year + 1 AND year(local_time(r.call_at)) = p.year
)
SELECT hour,
       urgency,
       bool_or(is_urgent) AS is_urgent,
       count(*) AS tasks,
       count(*) / sum(count(*)) OVER (PARTITION BY urgency) AS share_of_urgency,
       count(*) FILTER (WHERE is_measured) AS measured,
       median(response_s) FILTER (WHERE is_measured) AS median_response_s
FROM tasks
GROUP BY hour, urgency
ORDER BY hour, urgency NULLS LAST
