-- Question: Was the first unit on scene from the cell's nearest station?
-- The lake has no station coordinates, so "nearest" is by observed travel: the station whose
-- units had the lowest median travel (en route to on scene) to the cell, over every unit of
-- every urgent incident in the cell that year (units joined to responses), counting a station
-- only with at least $min_trips trips there (ties: the smaller station id). Then, per cell of
-- the class: its measured urgent tasks, how many of them the nearest station reached first, and
-- the station that most often did (ties: the smaller id). Cells whose nearest station seldom arrives first are listed
-- first: busy units, a station change, or a unit kept elsewhere.
--
-- Parameters:
--   $risk_class VARCHAR = 'I'   risk class of the cells (I-IV)
--   $year INTEGER = NULL        local calendar year; NULL: the latest year with measured tasks
--   $min_trips INTEGER = 3      trips a station needs to a cell for its median travel to count
--   $limit INTEGER = 20         how many cells to list
--
-- Example (demo lake):
--   | cell_id | tasks | nearest_station | nearest_median_travel_s | nearest_trips | first_from_nearest | share_first_from_nearest | most_often_first |
WITH params AS (
    SELECT CAST($risk_class AS VARCHAR) AS risk_class,
           coalesce(CAST($year AS INTEGER), latest_year()) AS year,
           CAST($min_trips AS INTEGER) AS min_trips
),
incidents_of_year AS (
    SELECT r.incident_id, r.cell_id, r.risk_class, r.is_measured, r.station_id AS first_station
    FROM responses AS r, params AS p
    WHERE r.is_urgent AND r.cell_id IS NOT NULL
      AND r.year BETWEEN p.year - 1 AND p.year + 1 AND year(local_time(r.call_at)) = p.year
),
travel AS (
    SELECT i.cell_id, u.station_id, count(*) AS trips,
           median(epoch(u.on_scene_at) - epoch(u.en_route_at)) AS median_travel_s
    FROM units AS u
    JOIN incidents_of_year AS i USING (incident_id)
    CROSS JOIN params AS p
    WHERE u.year BETWEEN p.year - 1 AND p.year + 1
      AND u.en_route_at IS NOT NULL AND u.on_scene_at IS NOT NULL AND u.station_id IS NOT NULL
    GROUP BY i.cell_id, u.station_id
    HAVING count(*) >= any_value(p.min_trips)
),
nearest AS (
    SELECT cell_id,
           arg_min(station_id, (median_travel_s, station_id)) AS station_id,
           min(median_travel_s) AS median_travel_s,
           arg_min(trips, (median_travel_s, station_id)) AS trips
    FROM travel
    GROUP BY cell_id
),
first_counts AS (
    SELECT i.cell_id, i.first_station, count(*) AS tasks
    FROM incidents_of_year AS i, params AS p
    WHERE i.is_measured AND i.risk_class = p.risk_class
    GROUP BY i.cell_id, i.first_station
)
SELECT f.cell_id,
       CAST(sum(f.tasks) AS BIGINT) AS tasks,
       any_value(n.station_id) AS nearest_station,
       any_value(n.median_travel_s) AS nearest_median_travel_s,
       any_value(n.trips) AS nearest_trips,
       CAST(coalesce(sum(f.tasks) FILTER (WHERE f.first_station = n.station_id), 0) AS BIGINT) AS first_from_nearest,
       coalesce(sum(f.tasks) FILTER (WHERE f.first_station = n.station_id), 0) / sum(f.tasks) AS share_first_from_nearest,
       arg_min(f.first_station, (-f.tasks, f.first_station)) AS most_often_first
FROM first_counts AS f
JOIN nearest AS n USING (cell_id)
GROUP BY f.cell_id
ORDER BY share_first_from_nearest, tasks DESC, f.cell_id
LIMIT CAST($limit AS INTEGER)
