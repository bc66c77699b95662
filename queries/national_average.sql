-- Question: Is the mean response time of all urgent tasks within the national target of 9 min 20 s, year by year?
-- The national target is an average over all urgent tasks, whatever their risk class (DOMAIN.md):
-- per local calendar year, the measured urgent tasks, the first and last local day with one (a
-- year the lake holds only in part shows here), their mean and median response time and how far
-- the mean is from the target.
--
-- Parameters:
--   $target_s INTEGER = 560   the national target for the mean, seconds (9 min 20 s)
--
-- Example (demo lake):
--   | year | tasks | first_day | last_day | mean_s | mean_mmss | median_s | target_s | mean_over_target_s | within |
--   |---|---|---|---|---|---|---|---|---|---|
--   | 2024 | 37 | 2024-12-30 | 2024-12-31 | 360.568 | 6:01 | 343 | 560 | -199.432 | True |
--   | 2025 | 5061 | 2025-01-01 | 2025-12-30 | 386.696 | 6:27 | 321 | 560 | -173.304 | True |
SELECT year(local_time(r.call_at)) AS year,
       count(*) AS tasks,
       local_time(min(r.call_at))::DATE AS first_day,
       local_time(max(r.call_at))::DATE AS last_day,
       avg(r.response_s) AS mean_s,
       mmss(avg(r.response_s)) AS mean_mmss,
       median(r.response_s) AS median_s,
       CAST($target_s AS INTEGER) AS target_s,
       avg(r.response_s) - CAST($target_s AS INTEGER) AS mean_over_target_s,
       avg(r.response_s) <= CAST($target_s AS INTEGER) AS within
FROM responses AS r
WHERE r.is_measured
GROUP BY ALL
ORDER BY year
