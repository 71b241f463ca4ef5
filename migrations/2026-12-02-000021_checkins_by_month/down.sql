CREATE TABLE checkins_flat (
    id        uuid PRIMARY KEY,
    device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    source    text NOT NULL CHECK (source IN ('portal', 'url', 'api')),
    user_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    message   text NOT NULL DEFAULT '' CHECK (char_length(message) <= 500),
    latitude  double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
INSERT INTO checkins_flat SELECT * FROM checkins;
DROP TABLE checkins;
ALTER TABLE checkins_flat RENAME TO checkins;
ALTER INDEX checkins_flat_pkey RENAME TO checkins_pkey;
CREATE INDEX checkins_device_idx ON checkins (device_id, at DESC);
