-- Check-ins: what the devices are for. A tenant keeps an address book (contacts) and check-in
-- schedules; a device follows its own schedule or its group's; a missed check-in opens one
-- alert, which tells the schedule's contacts through the outbox until someone acknowledges it
-- or the device checks in.

-- The clock every check-in and alert reads: the database's, moved by `skew` (no row: none).
-- Tests move time by setting the skew; nothing in production writes this table.
CREATE TABLE clock (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    skew     interval NOT NULL DEFAULT interval '0'
);
CREATE FUNCTION canopy_now() RETURNS timestamptz LANGUAGE sql STABLE AS
$$ SELECT now() + coalesce((SELECT skew FROM clock), interval '0') $$;

CREATE TABLE contacts (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    email      text CHECK (char_length(email) BETWEEN 3 AND 254),
    phone      text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    notes      text NOT NULL DEFAULT '' CHECK (char_length(notes) <= 1000),
    user_id    uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, tenant_id),
    -- A linked member must be a member here; leaving the tenant unlinks the contact.
    FOREIGN KEY (user_id, tenant_id) REFERENCES memberships (user_id, tenant_id)
        ON DELETE SET NULL (user_id)
);
CREATE INDEX contacts_tenant_name_idx ON contacts (tenant_id, lower(name), id);

CREATE TABLE schedules (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 60),
    time_zone           text NOT NULL CHECK (char_length(time_zone) BETWEEN 1 AND 64),
    -- Either every `interval_minutes`, or at `times_of_day` (minutes after local midnight)
    -- on the `weekdays` (bit 0 Monday … bit 6 Sunday).
    interval_minutes    integer CHECK (interval_minutes BETWEEN 5 AND 10080),
    times_of_day        smallint[] CHECK (cardinality(times_of_day) BETWEEN 1 AND 24
                                          AND 0 <= ALL (times_of_day)
                                          AND 1440 > ALL (times_of_day)),
    weekdays            smallint NOT NULL DEFAULT 127 CHECK (weekdays BETWEEN 1 AND 127),
    grace_minutes       integer NOT NULL DEFAULT 0 CHECK (grace_minutes BETWEEN 0 AND 1440),
    tier2_after_minutes integer CHECK (tier2_after_minutes BETWEEN 1 AND 10080),
    repeat_minutes      integer CHECK (repeat_minutes BETWEEN 5 AND 1440),
    enabled             boolean NOT NULL DEFAULT true,
    shared_below        boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, tenant_id),
    CHECK ((interval_minutes IS NULL) <> (times_of_day IS NULL))
);
CREATE UNIQUE INDEX schedules_tenant_name_idx ON schedules (tenant_id, lower(name));

-- Who a schedule's alerts tell: contacts of the schedule's own tenant, in two tiers.
CREATE TABLE schedule_contacts (
    schedule_id uuid NOT NULL,
    tenant_id   uuid NOT NULL,
    contact_id  uuid NOT NULL,
    tier        smallint NOT NULL CHECK (tier IN (1, 2)),
    PRIMARY KEY (schedule_id, contact_id),
    FOREIGN KEY (schedule_id, tenant_id) REFERENCES schedules (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (contact_id, tenant_id) REFERENCES contacts (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX schedule_contacts_contact_idx ON schedule_contacts (contact_id);

ALTER TABLE groups ADD COLUMN schedule_id uuid REFERENCES schedules (id) ON DELETE SET NULL;

-- One small row per device that has ever had a schedule or a check-in URL: what it follows
-- and when it is due. The scheduler reads `alert_at` (due + grace) through its own index.
CREATE TABLE checkin_states (
    device_id       uuid PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    own_schedule_id uuid REFERENCES schedules (id) ON DELETE SET NULL,
    schedule_id     uuid REFERENCES schedules (id) ON DELETE SET NULL,
    since           timestamptz NOT NULL DEFAULT now(),
    last_checkin_at timestamptz,
    next_due_at     timestamptz,
    alert_at        timestamptz,
    token_hash      text UNIQUE,
    token_hint      text
);
CREATE INDEX checkin_states_alert_idx ON checkin_states (alert_at) WHERE alert_at IS NOT NULL;
CREATE INDEX checkin_states_schedule_idx ON checkin_states (schedule_id);
CREATE INDEX checkin_states_own_idx ON checkin_states (own_schedule_id);

CREATE TABLE checkins (
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
CREATE INDEX checkins_device_idx ON checkins (device_id, at DESC);

-- One alert per missed check-in (the device and the time it was due).
CREATE TABLE alerts (
    id              uuid PRIMARY KEY,
    device_id       uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    tenant_path     uuid[] NOT NULL,
    schedule_id     uuid REFERENCES schedules (id) ON DELETE SET NULL,
    due_at          timestamptz NOT NULL,
    opened_at       timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'open'
                    CHECK (state IN ('open', 'acknowledged', 'resolved')),
    -- Notices sent: the opening one, each repeat, and tier 2's first (steps - 1 - repeats).
    steps           integer NOT NULL DEFAULT 0,
    repeats         integer NOT NULL DEFAULT 0,
    next_step_at    timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by text,
    ack_note        text NOT NULL DEFAULT '' CHECK (char_length(ack_note) <= 500),
    resolved_at     timestamptz,
    resolved_reason text,
    UNIQUE (device_id, due_at)
);
CREATE INDEX alerts_step_idx ON alerts (next_step_at) WHERE state = 'open';
CREATE INDEX alerts_path_idx ON alerts (tenant_path, opened_at DESC);
CREATE INDEX alerts_device_idx ON alerts (device_id) WHERE state <> 'resolved';

-- Who was told, at which step of an alert (exactly one message per contact per step).
CREATE TABLE alert_notifications (
    alert_id   uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    step       integer NOT NULL,
    tier       smallint NOT NULL,
    contact_id uuid REFERENCES contacts (id) ON DELETE SET NULL,
    name       text NOT NULL,
    email      text NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (alert_id, step, email)
);
