# Shared by bench/run and bench/soak: the portal started on the seeded large data set, and
# sign-in helpers for curl. Expects BIN, BASE, WORK, DATA to be set.

start_seeded_portal() {
  if [ ! -f "$DATA/large-demo.txt" ]; then
    echo "Seeding the large data set (once; reused by later runs) …"
    "$BIN" demo --size large | tee "$WORK/seed.txt"
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
