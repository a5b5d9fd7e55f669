#!/usr/bin/env bash
# Scale-out benchmark: registrations per second through 1, 2 and 4 `simkyc serve` processes that
# share one PostgreSQL (a throw-away cluster made by tools/pg_cluster.sh --durable: fsync on, as in
# production).  Sessions that already passed verification are seeded with SQL (the face pipeline
# is measured by bench/load.sh); each client request registers one number (5 sessions per ID, so
# every request may succeed), through a keep-alive connection, round-robin over the servers.
# After the runs it checks `simkyc audit verify` and that no ID holds more than 5 numbers.
# Bounded in count and time; talks only to 127.0.0.1.  Prints a Markdown table (or JSON lines).
#   bash bench/scaleout.sh [--n 1500] [--clients 16] [--servers "1 2 4"] [--threads 8] [--json] [--no-setup]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=1500; clients=16; counts="1 2 4"; threads=8; as_json=0; do_setup=1
while [ $# -gt 0 ]; do
  case "$1" in
    --n) n=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --servers) counts=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --json) as_json=1; shift ;;
    --no-setup) do_setup=0; shift ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "scaleout.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$do_setup" -eq 0 ] || "$root/scripts/setup.sh" >/dev/null
simkyc="$root/build/simkyc"
say() { printf '[scaleout] %s\n' "$*" >&2; }

work=$(mktemp -d /tmp/simkyc-scaleout.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$root/tools/pg_cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

url=$(bash "$root/tools/pg_cluster.sh" start "$work/pg" --durable)
psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
export SIMKYC_MASTER_KEY
SIMKYC_MASTER_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
key=$("$simkyc" keys create --store "$url" --operator op1 --role clerk --json 2>/dev/null |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).key))')

total=0
for c in $counts; do total=$((total + n + 50)); done
now=$(date +%s)
"$psql" -q -v ON_ERROR_STOP=1 "$url" -c "
  INSERT INTO sessions (id, operator_id, channel, created, expires, state, id_hash, document_json, decision, reasons_json)
  SELECT 's_b_' || i, 'op1', 'counter', $now, $now + 86400, 'decided', 'bench-id-' || (i / 5),
         '{\"kind\":\"resident_id\",\"valid\":true}', 'PASS', '[]'
  FROM generate_series(0, $total - 1) AS i" >/dev/null
say "cluster $url, $total PASS sessions seeded; $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

start_servers() {   # count -> sets ports (comma list)
  local count=$1 i
  ports=""
  pids=()
  for i in $(seq 1 "$count"); do
    "$simkyc" --log-level warn serve --listen 127.0.0.1:0 --store "$url" --threads "$threads" --web "" \
      >"$work/serve$i.out" 2>"$work/serve$i.log" &
    pids+=($!)
  done
  for i in $(seq 1 "$count"); do
    for _ in $(seq 1 600); do
      grep -q 'serving on' "$work/serve$i.out" 2>/dev/null && break
      sleep 0.1
    done
    local p
    p=$(sed -n 's/.*serving on https\{0,1\}:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve$i.out" | head -1)
    [ -n "$p" ] || { cat "$work/serve$i.log" >&2; echo "server $i did not start" >&2; exit 1; }
    ports="${ports:+$ports,}$p"
  done
}
stop_servers() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

offset=0
results=()
for c in $counts; do
  start_servers "$c"
  # Warm-up: connections, pools, caches (not counted).
  node "$root/bench/registrations.js" --ports "$ports" --key "$key" --n 50 --clients "$clients" --offset "$offset" >/dev/null
  offset=$((offset + 50))
  r=$(nice -n 5 node "$root/bench/registrations.js" --ports "$ports" --key "$key" --n "$n" --clients "$clients" \
        --offset "$offset" --seconds 120)
  offset=$((offset + n))
  stop_servers
  results+=("$r")
  say "$c server(s): $r"
done

verify=$("$simkyc" audit verify --store "$url" --json 2>/dev/null || true)
over=$("$psql" -At "$url" -c "SELECT COUNT(*) FROM (SELECT id_hash FROM registrations WHERE active = 1
                                GROUP BY operator_id, id_hash HAVING COUNT(*) > 5) x")
say "audit verify: $verify; IDs over the limit: $over"
case "$verify" in *'"ok":true'*|*'"ok": true'*) ;; *) echo "audit chain check failed: $verify" >&2; exit 1 ;; esac
[ "$over" = "0" ] || { echo "an ID holds more than 5 numbers" >&2; exit 1; }

if [ "$as_json" -eq 1 ]; then
  printf '%s\n' "${results[@]}"
  exit 0
fi
printf '%s\n' "${results[@]}" | node -e '
let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
  const rows = s.trim().split("\n").map((l) => JSON.parse(l));
  const base = rows[0].per_second;
  console.log("| server processes | registrations/s | vs 1 process | p50 ms | p99 ms | requests | non-201 |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const bad = r.requests - r.created + (r.statuses.error || 0);
    console.log(`| ${r.servers} | ${r.per_second} | ${(r.per_second / base).toFixed(2)}x | ${r.p50_ms} | ${r.p99_ms} | ${r.requests} | ${bad} |`);
  }
});'
