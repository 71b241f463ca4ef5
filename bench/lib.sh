# Shared by the benchmarks: the portal started on the seeded large data set, sign-in helpers
# for curl, and the scheduler pass. Expects BIN, BASE, WORK, DATA to be set.

start_seeded_portal() {
  if [ ! -f "$DATA/large-demo.txt" ]; then
    echo "Seeding the large data set (once; reused by later runs) …"
    "$BIN" demo --size large --scale "${SCALE:-1}" | tee "$WORK/seed.txt"
    cp "$WORK/seed.txt" "$DATA/large-demo.txt"
  fi
  PASSWORD=$(sed -n 's/.*password is: //p' "$DATA/large-demo.txt")
  SEED_TIME=$(sed -n 's/Large demo loaded in \(.*\) s\./\1/p' "$DATA/large-demo.txt")
  # Pending migrations first: on a million devices one may take minutes, longer than the
  # wait for the portal below.
  "$BIN" migrate
  "$BIN" serve > "$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf "$BASE/healthz" >/dev/null || { cat "$WORK/serve.log"; exit 1; }
  drop_imports
}

# sign_in EMAIL → prints the session cookie ("name=value")
sign_in() {
  local jar="$WORK/$1.jar" token
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([0-9a-f]*\)".*/\1/p' | head -1)
  curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "email=$1" --data-urlencode "password=$PASSWORD" \
    --data-urlencode "csrf_token=$token" "$BASE/login"
  awk '$6 == "canopy_session" {print $6 "=" $7}' "$jar"
}

# first_tenant COOKIE → the first tenant id on the tree page
first_tenant() { curl -s -H "Cookie: $1" "$BASE/tenants" | grep -o '/tenants/[0-9a-f-]\{36\}' | head -1 | cut -d/ -f3; }

# The search box's latency as people use it: a few requests at a time, not 64.
SEARCH_CONNECTIONS=${SEARCH_CONNECTIONS:-4}
# search_latency LEVEL COOKIE → table rows: the quick results for prefixes of an IMEI, a
# device's name, a tenant's name and a person's name
search_latency() {
  local q r
  for q in "IMEI prefix:3500000012" "device name prefix:Unit+00012" "tenant name prefix:Site+0001" "person name prefix:User+0001"; do
    r=$(wrk -t1 -c"$SEARCH_CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $2" "$BASE/search/quick?q=${q#*:}")
    echo "| $1: ${q%%:*} (q=${q#*:}) | $(echo "$r" | awk '/Requests\/sec/ {print $2}') | $(echo "$r" | awk '$1 == "50%" {print $2}') | $(echo "$r" | awk '$1 == "99%" {print $2}') |"
  done
}

# The data set's PostgreSQL, for psql while the portal is stopped (`canopy tick` stops it too).
PSQL="psql postgres://canopy@localhost/canopy?host=$DATA/postgres -qAt"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_up() {
  runuser -u postgres -- "$PGBIN/pg_ctl" status -D "$DATA/postgres" >/dev/null 2>&1 \
    || runuser -u postgres -- "$PGBIN/pg_ctl" start -w -D "$DATA/postgres" -l "$DATA/postgres/server.log" \
         -o "-c listen_addresses= -k $DATA/postgres -c unix_socket_permissions=0700 -c max_connections=200" >/dev/null
}

# Removes what a scheduler pass made (alerts, their emails and audit events, the devices' due
# times, the bench's schedule and contact), so that later runs see the data as seeded.
cleanup_checkins() {
  pg_up
  $PSQL -c "DELETE FROM alert_notifications; DELETE FROM alerts; DELETE FROM checkin_states; \
    DELETE FROM checkin_tokens; DELETE FROM webhook_deliveries WHERE event LIKE 'alert.%'; \
    DELETE FROM outbox WHERE subject LIKE '%has not checked in'; \
    DELETE FROM audit_events WHERE action LIKE 'alert.%'; \
    DELETE FROM schedule_contacts WHERE schedule_id IN (SELECT id FROM schedules WHERE name = 'Bench shift'); \
    DELETE FROM schedules WHERE name = 'Bench shift'; DELETE FROM contacts WHERE name = 'Bench dispatch'"
}

# scheduler_pass N: N devices fall past due at once on a schedule the operator's root shares
# below, with one contact to tell; one `canopy tick` (this process alone, the portal stopped)
# opens an alert for each, with its notification, email, audit event and webhook check. Sets
# TICK_OPENED, TICK_TIME (s) and IDLE_TIME (s, a second pass with nothing due); cleans up.
scheduler_pass() {
  cleanup_checkins
  $PSQL <<SQL
WITH root AS (SELECT id FROM tenants WHERE parent_id IS NULL ORDER BY created_at LIMIT 1),
s AS (INSERT INTO schedules (id, customer_id, tenant_id, name, time_zone, interval_minutes, grace_minutes, repeat_minutes, shared_below)
      SELECT gen_random_uuid(), id, id, 'Bench shift', 'Europe/London', 240, 30, 30, true FROM root RETURNING id, customer_id, tenant_id),
c AS (INSERT INTO contacts (id, customer_id, tenant_id, name, email)
      SELECT gen_random_uuid(), id, id, 'Bench dispatch', 'dispatch@large.example' FROM root RETURNING id, tenant_id)
INSERT INTO schedule_contacts (schedule_id, customer_id, tenant_id, contact_id, tier) SELECT s.id, s.customer_id, s.tenant_id, c.id, 1 FROM s, c;
INSERT INTO checkin_states (device_id, customer_id, own_schedule_id, schedule_id, since, next_due_at, alert_at)
SELECT d.id, d.customer_id, s.id, s.id, now() - interval '5 hours', now() - interval '1 hour', now() - interval '30 minutes'
FROM (SELECT id, customer_id FROM devices WHERE status <> 'retired' ORDER BY id LIMIT $1) d,
     (SELECT id FROM schedules WHERE name = 'Bench shift') s;
ANALYZE checkin_states;
SQL
  # Each pass times itself (without the start and stop of the embedded PostgreSQL around it).
  "$BIN" tick | tee "$WORK/tick.txt"
  TICK_OPENED=$(sed -n 's/Scheduler pass: \([0-9]*\) alerts opened.*/\1/p' "$WORK/tick.txt")
  TICK_TIME=$(sed -n 's/.* in \([0-9.]*\) s\./\1/p' "$WORK/tick.txt")
  "$BIN" tick > "$WORK/idle.txt"
  IDLE_TIME=$(sed -n 's/.* in \([0-9.]*\) s\./\1/p' "$WORK/idle.txt")
  pg_up
  TICK_ALERTS=$($PSQL -c "SELECT count(*) FROM alerts")
  TICK_MAIL=$($PSQL -c "SELECT count(*) FROM outbox WHERE subject LIKE '%has not checked in'")
  cleanup_checkins
}

# make_checkin_tokens N: N devices that are not retired (in id order) get a known check-in
# URL: device n's token is lpad(hex(n), 64, '0') (bench/checkin.lua draws them); only its
# SHA-256 is stored. Earlier runs' tokens go first: the same token may have gone to another
# device then.
make_checkin_tokens() {
  $PSQL -c "UPDATE checkin_states SET token_hash = NULL, token_hint = NULL WHERE token_hash IS NOT NULL"
  $PSQL -c "DELETE FROM checkin_tokens"
  $PSQL -c "INSERT INTO checkin_states (device_id, customer_id, token_hash, token_hint)
    SELECT id, customer_id, encode(sha256(convert_to(t, 'UTF8')), 'hex'), left(t, 6)
    FROM (SELECT id, customer_id, lpad(to_hex(row_number() OVER (ORDER BY id) - 1), 64, '0') AS t
          FROM (SELECT id, customer_id FROM devices WHERE status <> 'retired' ORDER BY id LIMIT $1) d) s
    ON CONFLICT (device_id, customer_id) DO UPDATE SET token_hash = excluded.token_hash, token_hint = excluded.token_hint"
  $PSQL -c "INSERT INTO checkin_tokens (token_hash, customer_id, device_id)
    SELECT token_hash, customer_id, device_id FROM checkin_states WHERE token_hash IS NOT NULL"
}

# Removes the tenants bench/run's import made (each run imports 100 000 devices into a tenant
# of its own) and their rows, so that every run measures the data set as seeded.
drop_imports() {
  [ "$($PSQL -c "SELECT count(*) FROM tenants WHERE name LIKE 'Import %' AND parent_id IS NOT NULL")" = 0 ] && return 0
  echo "Dropping the tenants earlier imports made …"
  $PSQL -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
CREATE TEMP TABLE gone ON COMMIT DROP AS
  SELECT id FROM tenants WHERE name LIKE 'Import %' AND parent_id IS NOT NULL;
DELETE FROM device_identifiers WHERE device_id IN (SELECT d.id FROM devices d WHERE d.tenant_id IN (SELECT id FROM gone));
DELETE FROM checkin_tokens WHERE device_id IN (SELECT d.id FROM devices d WHERE d.tenant_id IN (SELECT id FROM gone));
DELETE FROM device_moves WHERE to_tenant_id IN (SELECT id FROM gone) OR from_tenant_id IN (SELECT id FROM gone);
DELETE FROM devices WHERE tenant_id IN (SELECT id FROM gone);
DELETE FROM device_counts WHERE tenant_id IN (SELECT id FROM gone);
DELETE FROM audit_events WHERE tenant_id IN (SELECT id FROM gone);
DELETE FROM memberships WHERE tenant_id IN (SELECT id FROM gone);
DELETE FROM tenants WHERE id IN (SELECT id FROM gone);
SELECT device_counts_rebuild();
COMMIT;
SQL
}
