-- Question: Which cells missed their response-time target in every year of the review period?
-- A problem cell (the national review's term): in each year of the review period, the median
-- of its measured urgent tasks was over the target of its risk class that year (the strategy's
-- median rule; exactly on target is not over). The review period is the $years local calendar
-- years ending with $end_year (by default the latest year the lake holds into December: the year
-- of its newest measured task from 1 December on, else the year before), limited to years with
-- measured tasks in the lake, and of the years before $end_year to those the lake holds from
-- January on (as the flags judge it: the first days of a January, or the last days of a December
-- that an export's overlap brings, would judge every cell on a task or two). A cell must have
-- tasks in each year of the period. Computed from responses, so it works with or without the
-- flags table. Cells of the class $risk_class in the period's last year are listed by how far over
-- the target they were in their best year, furthest first. Its municipality is that of its tasks
-- in the last year (the smallest code if they name several).
--
-- Parameters:
--   $risk_class VARCHAR = 'I'   risk class of the cells in the period's last year (I-IV)
--   $end_year INTEGER = NULL    last year of the review period; NULL: the latest year held into December
--   $years INTEGER = 4          length of the review period in years (flags.review_years)
--
-- Example (demo lake):
--   | cell_id | risk_class | municipality_code | years_in_review | tasks | min_over_target_s | yearly_medians |
--   |---|---|---|---|---|---|---|
--   | 1kmN6695E376 | I | 543 | 1 | 47 | 133 | 2025: 8:13 (47) |
--   | 1kmN6714E389 | I | 858 | 1 | 21 | 89 | 2025: 7:29 (21) |
--   | 1kmN6723E408 | I | 505 | 1 | 35 | 70 | 2025: 7:10 (35) |
--   (8 rows: the demo lake holds one year, 2025, and the two days of December 2024 that its first
--   export overlaps, which do not count)
WITH params AS (
    SELECT CAST($risk_class AS VARCHAR) AS risk_class,
           coalesce(CAST($end_year AS INTEGER), last_review_year()) AS end_year,
           CAST($years AS INTEGER) AS years
),
tasks AS (
    SELECT r.cell_id, year(local_time(r.call_at)) AS year, r.risk_class, r.target_s, r.response_s,
           r.municipality_code
    FROM responses AS r, params AS p
    WHERE r.is_measured AND r.cell_id IS NOT NULL AND r.target_s IS NOT NULL
      AND r.year BETWEEN p.end_year - p.years AND p.end_year + 1
      AND r.call_at >= year_start(p.end_year - p.years + 1) AND r.call_at < year_start(p.end_year + 1)
),
review_years AS (
    SELECT DISTINCT t.year FROM tasks AS t, params AS p
    WHERE t.year = p.end_year OR held_from_january(t.year)
),
yearly AS (
    SELECT cell_id, year, any_value(risk_class) AS risk_class, any_value(target_s) AS target_s,
           count(*) AS tasks, median(response_s) AS median_s, min(municipality_code) AS municipality_code
    FROM tasks
    WHERE year IN (SELECT year FROM review_years)
    GROUP BY cell_id, year
)
SELECT y.cell_id,
       arg_max(y.risk_class, y.year) AS risk_class,
       arg_max(y.municipality_code, y.year) AS municipality_code,
       count(*) AS years_in_review,
       CAST(sum(y.tasks) AS BIGINT) AS tasks,
       min(y.median_s - y.target_s) AS min_over_target_s,
       string_agg(y.year || ': ' || mmss(y.median_s) || ' (' || y.tasks || ')', ', ' ORDER BY y.year) AS yearly_medians
FROM yearly AS y
GROUP BY y.cell_id
HAVING count(*) = (SELECT count(*) FROM review_years)
   AND bool_and(y.median_s > y.target_s)
   AND arg_max(y.risk_class, y.year) = (SELECT risk_class FROM params)
ORDER BY min_over_target_s DESC, y.cell_id
