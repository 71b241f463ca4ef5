-- Pages of a large subtree sorted by name walk this index and stop after one page, instead
-- of sorting the whole subtree.
CREATE INDEX devices_name_idx ON devices (lower(name), id);
