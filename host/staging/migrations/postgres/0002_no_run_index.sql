-- Every run rewrites `last_seen_run` on every row of its catalog, so this index cost a delete
-- and an insert per row per run (about a quarter of a run's staging time, measured), and no
-- statement needed it: closing a run scans the catalog by its primary-key prefix anyway.
DROP INDEX IF EXISTS staged_products_by_run;
