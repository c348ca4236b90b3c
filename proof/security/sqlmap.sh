#!/usr/bin/env bash
# SQL injection scan of every parameterised GET route, through the gateway of a RUNNING local stack,
# with Debian's sqlmap. Manual, never in CI (it takes minutes to hours and needs `npm start`).
#
#   npm start                      # in another terminal (RATE_LIMIT_PER_USER=100000 npm start avoids 429s)
#   npm run security:sqlmap        # or: bash proof/security/sqlmap.sh
#
# It registers a throwaway tenant (store, category, product, customer, shift, a sale and its refund, a
# loyalty redemption, an email), reads the OpenAPI documents the gateway serves, and runs sqlmap once
# per path-parameterised route (each path parameter marked with `*`) and once per query parameter
# (-p), with a fresh access token each time.
# Bounded: --level 2 --risk 1 --threads 1 --time-sec 2, --delay between requests, a wall-clock limit per
# run, 127.0.0.1 only. Exit status 1 when sqlmap reports an injectable parameter.
#
# Environment:
#   GATEWAY_URL            default http://127.0.0.1:3000 (must be 127.0.0.1/localhost)
#   SQLMAP_TARGET_TIMEOUT  seconds per sqlmap run, default 180
#   SQLMAP_DELAY           seconds between requests, default 0.1 (<= 600 requests/min: the per-user limit)
#   SQLMAP_MAX_TARGETS     stop after this many runs (default: all)
#   SQLMAP_START           start at this run number (1-based; to resume an interrupted scan)
#   SQLMAP_ONLY            only routes whose "GET /path" contains this text
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
gateway="${GATEWAY_URL:-http://127.0.0.1:3000}"
per_target="${SQLMAP_TARGET_TIMEOUT:-180}"
delay="${SQLMAP_DELAY:-0.1}"
max_targets="${SQLMAP_MAX_TARGETS:-0}"
start_at="${SQLMAP_START:-1}"
only="${SQLMAP_ONLY:-}"

case "$gateway" in
  http://127.0.0.1:* | http://localhost:* | http://\[::1\]:*) ;;
  *) echo "refusing: GATEWAY_URL must be http://127.0.0.1:<port> (got $gateway)" >&2; exit 2 ;;
esac

if ! command -v sqlmap >/dev/null 2>&1; then
  echo "sqlmap not found; installing Debian's package (apt-get install -y sqlmap)" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y sqlmap; else sudo apt-get install -y sqlmap; fi
fi

if ! curl -fsS -o /dev/null --max-time 5 "$gateway/health"; then
  echo "no gateway answers at $gateway/health: start the stack first (npm start)" >&2
  exit 2
fi

out="$root/test-artifacts/sqlmap/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
echo "sqlmap scan of $gateway; output in ${out#"$root"/}"

setup_json="$(node "$here/sqlmap-targets.mjs" setup "$gateway")"
refresh="$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).refreshToken)' "$setup_json")"
mapfile -t targets < <(node -e '
  const { targets } = JSON.parse(process.argv[1]);
  const only = process.argv[2];
  for (const t of targets) if (!only || t.route.includes(only)) console.log([t.route, t.kind, t.param ?? "-", t.url].join("\x1f"));
' "$setup_json" "$only")
echo "${#targets[@]} sqlmap runs planned ($per_target s at most each)"

runs=0
index=0
findings=0
summary="$out/summary.tsv"
printf 'route\tkind\tparam\tresult\n' >"$summary"
for line in "${targets[@]}"; do
  # Unit separator, not a tab: consecutive tabs would merge (tab is IFS white space).
  IFS=$'\x1f' read -r route kind param url <<<"$line"
  index=$((index + 1))
  if [ "$index" -lt "$start_at" ]; then continue; fi
  if [ "$max_targets" -gt 0 ] && [ "$runs" -ge "$max_targets" ]; then break; fi
  runs=$((runs + 1))
  tokens="$(node "$here/sqlmap-targets.mjs" token "$gateway" "$refresh")"
  access="$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).accessToken)' "$tokens")"
  refresh="$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).refreshToken)' "$tokens")"
  log="$out/run-$index.log"
  echo "[$index/${#targets[@]}] $route $kind $param"
  args=(-u "$url" --headers="Authorization: Bearer $access" --batch --level 2 --risk 1 --threads 1 --time-sec 2
    --dbms=PostgreSQL --delay "$delay" --timeout 15 --retries 1 --flush-session --disable-coloring
    --output-dir "$out/sqlmap")
  if [ "$kind" = query ]; then args+=(-p "$param"); fi
  set +e
  timeout --signal=INT "$per_target" sqlmap "${args[@]}" >"$log" 2>&1
  status=$?
  set -e
  if grep -Eq "is vulnerable|sqlmap identified the following injection point|appears to be injectable" "$log"; then
    result="INJECTABLE"
    findings=$((findings + 1))
    echo "  !! sqlmap reports an injection point (see ${log#"$root"/})"
  elif grep -q "page not found (404)" "$log"; then
    result="skipped: 404 before any test (route switched off, e.g. OAuth not configured)"
  elif [ "$status" -eq 124 ] || [ "$status" -eq 130 ]; then
    result="time limit reached, nothing found"
  elif grep -Eq "all tested parameters do not appear to be injectable|does not seem to be injectable" "$log"; then
    result="not injectable"
  else
    result="inconclusive (exit $status; see log)"
  fi
  printf '%s\t%s\t%s\t%s\n' "$route" "$kind" "$param" "$result" >>"$summary"
done

echo
column -t -s $'\t' "$summary" 2>/dev/null || cat "$summary"
echo
if [ "$findings" -gt 0 ]; then
  echo "sqlmap found $findings injectable parameter(s) in $runs runs" >&2
  exit 1
fi
echo "sqlmap: no injectable parameter in $runs runs"
