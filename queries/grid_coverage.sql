-- Question: Which tasks have no risk class, and why: where does the risk grid not cover the incidents?
-- Incidents without a risk class by reason: no location in the export, a call before the first
-- imported risk grid, or a location outside every cell of the grid in force. For each reason:
-- incidents, urgent ones, the distinct cells they fall in (cells with tasks but no class) and
-- the cells with most of them. The same counts as `valmius grid show`.
--
-- Parameters:
--   $year INTEGER = NULL   local calendar year; NULL: every year in the lake
--
-- Example (demo lake):
--   | reason | incidents | urgent | cells | busiest_cells | first_call_local | last_call_local |
WITH unclassified AS (
    SELECT r.incident_id, r.call_at, r.is_urgent, r.cell_id,
           CASE WHEN r.cell_id IS NULL THEN 'no location'
                WHEN r.grid_year IS NULL THEN 'before the first risk grid'
                ELSE 'outside the grid''s cells' END AS reason
    FROM responses AS r
    WHERE r.risk_class IS NULL
      AND (CAST($year AS INTEGER) IS NULL OR year(local_time(r.call_at)) = CAST($year AS INTEGER))
),
by_cell AS (
    SELECT reason, cell_id, count(*) AS incidents
    FROM unclassified
    WHERE cell_id IS NOT NULL
    GROUP BY reason, cell_id
),
busiest AS (
    SELECT reason,
           count(*) AS cells,
           string_agg(cell_id || ' (' || incidents || ')', ', ' ORDER BY incidents DESC, cell_id)
               FILTER (WHERE rank <= 3) AS busiest_cells
    FROM (SELECT *, row_number() OVER (PARTITION BY reason ORDER BY incidents DESC, cell_id) AS rank FROM by_cell)
    GROUP BY reason
)
SELECT u.reason,
       count(*) AS incidents,
       count(*) FILTER (WHERE u.is_urgent) AS urgent,
       coalesce(any_value(b.cells), 0) AS cells,
       any_value(b.busiest_cells) AS busiest_cells,
       strftime(min(local_time(u.call_at)), '%Y-%m-%d') AS first_call_local,
       strftime(max(local_time(u.call_at)), '%Y-%m-%d') AS last_call_local
FROM unclassified AS u
LEFT JOIN busiest AS b USING (reason)
GROUP BY u.reason
ORDER BY incidents DESC, u.reason
