-- A subtree move rewrites each path below the moved tenant: the new parent's path, then the
-- path's own tail from the moved tenant down. Written as a function so that the UPDATE's SET
-- holds no array subscript (Citus 13's coordinator fails on `SET x = arr[n:]`); the function
-- runs where the row is.
CREATE FUNCTION canopy_rebased(path uuid[], keep_from integer, prefix uuid[])
RETURNS uuid[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT prefix || path[keep_from:] $$;
