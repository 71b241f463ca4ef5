DROP FUNCTION canopy_rebased(uuid[], integer, uuid[]);
