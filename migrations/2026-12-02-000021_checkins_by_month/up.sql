-- Check-ins partitioned by month (native range partitioning on `at`): the hot path inserts
-- into this month's partition; old months go by dropping their partition
-- (`domain::checkins::partitions`, CANOPY_CHECKIN_RETENTION_MONTHS) instead of deleting rows.
-- The primary key includes the partition key, as PostgreSQL requires. Partitions for the
-- months ahead are made by the scheduler; the default partition only catches a row no month
-- was made for yet, so nothing is ever refused.
ALTER TABLE checkins RENAME TO checkins_unpartitioned;
ALTER INDEX checkins_device_idx RENAME TO checkins_unpartitioned_device_idx;
ALTER TABLE checkins_unpartitioned RENAME CONSTRAINT checkins_pkey TO checkins_unpartitioned_pkey;

CREATE TABLE checkins (
    id        uuid NOT NULL,
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    source    text NOT NULL CHECK (source IN ('portal', 'url', 'api')),
    user_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    message   text NOT NULL DEFAULT '' CHECK (char_length(message) <= 500),
    latitude  double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE INDEX checkins_device_idx ON checkins (device_id, at DESC);
CREATE TABLE checkins_default PARTITION OF checkins DEFAULT;

-- A partition for every month from the oldest check-in kept to two months ahead.
DO $$
DECLARE
    m date := date_trunc('month', least(now(), coalesce((SELECT min(at) FROM checkins_unpartitioned), now())))::date;
    last date := (date_trunc('month', now()) + interval '2 months')::date;
BEGIN
    WHILE m <= last LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF checkins FOR VALUES FROM (%L) TO (%L)',
            'checkins_' || to_char(m, 'YYYY_MM'), m, (m + interval '1 month')::date);
        m := (m + interval '1 month')::date;
    END LOOP;
END $$;

INSERT INTO checkins SELECT * FROM checkins_unpartitioned;
DROP TABLE checkins_unpartitioned;
