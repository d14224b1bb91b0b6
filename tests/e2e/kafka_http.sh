#!/bin/bash
# kafka_http.sh — real broker (8): outputs.http_listen. `cdrwatch run` on the bundled dataset
# answers /healthz 503 before its partitions are assigned and 200 once they are; /metrics passes
# `promtool check metrics` and counts every record produced, by stream, with the broker seen UP;
# a real Prometheus (Debian's prometheus, its own configuration and storage in $TMP, on a free
# loopback port) scrapes it and its HTTP API returns cdrwatch_records_total equal to the number
# of records produced. A second instance on the same address is refused at start (exit 2, the
# option named). Everything started here is stopped on exit (kafka_lib.sh's trap).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
for tool in curl promtool prometheus python3; do
    command -v "$tool" > /dev/null || skip_or_fail "$tool not found (Debian: curl, prometheus, python3)"
done
need_broker
broker_start bh

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
HTTP_PORT=$(free_port)
PROM_PORT=$(free_port)
URL="http://127.0.0.1:$HTTP_PORT"
cat > "$TMP/http.json" << EOF
{"outputs": {"http_listen": "$HTTP_PORT"},
 "kafka": {"properties": {"statistics.interval.ms": "1000"}}}
EOF

produce_cdr "$DATASET/cdr.csv.gz"
produce_audit "$DATASET/audit.jsonl.gz"
n_cdr=$(gzip -dc "$DATASET/cdr.csv.gz" | tail -n +2 | wc -l)
n_audit=$(gzip -dc "$DATASET/audit.jsonl.gz" | wc -l)
n_records=$((n_cdr + n_audit))

start_run h1 --config "$TMP/http.json" -G http
pid=$RUN_PID

# /healthz, polled from the moment the server answers: every status in order, first to last
health_codes=()
first_body=""
health_ready() {
    local code
    code=$(curl -s -o "$TMP/health.body" -w '%{http_code}' "$URL/healthz" 2> /dev/null) || code=000
    [ "$code" = 000 ] && return 1
    [ ${#health_codes[@]} -eq 0 ] && first_body=$(cat "$TMP/health.body")
    health_codes+=("$code")
    [ "$code" = 200 ]
}
WAIT_STEP=0.02 wait_until 60 health_ready || true
is "${health_codes[0]:-none}" 503 "/healthz answers 503 before the partitions are assigned"
case "$first_body" in
"not ready: "*) ok_status 0 "... with the reason ($first_body)" ;;
*) ok_status 1 "... with the reason (got '$first_body')" ;;
esac
last_code=none
[ ${#health_codes[@]} -eq 0 ] || last_code=${health_codes[${#health_codes[@]} - 1]}
is "$last_code" 200 "then 200 once they are"
is "$(cat "$TMP/health.body")" ok "... saying ok"
is "$(curl -s "$URL/livez")" ok "/livez: the loop turns"
is "$(curl -s -o /dev/null -w '%{http_code}' "$URL/nothing")" 404 "an unknown path is 404"

# /metrics: every record counted (the run publishes at most once a second)
metrics_count() {
    curl -s "$URL/metrics" > "$TMP/metrics" 2> /dev/null &&
        [ "$(awk '/^cdrwatch_records_total\{/ { n += $2 } END { print n + 0 }' "$TMP/metrics")" -eq "$n_records" ]
}
wait_until 60 metrics_count || true
contains "$TMP/metrics" "cdrwatch_records_total{stream=\"cdr\"} $n_cdr" "/metrics counts the CDRs produced"
contains "$TMP/metrics" "cdrwatch_records_total{stream=\"audit\"} $n_audit" "and the audit records"
run promtool check metrics < "$TMP/metrics"
is "$rc" 0 "promtool check metrics accepts the exposition"
is "$(cat "$TMP/out" "$TMP/err")" "" "without a remark"
contains "$TMP/metrics" "cdrwatch_ready 1" "cdrwatch_ready is 1"
contains "$TMP/metrics" 'cdrwatch_consumer_lag_records{topic="db-audit",partition="0"}' "lag per partition"
has_alerts=$(awk '/^cdrwatch_alerts_total\{/ && $2 > 0' "$TMP/metrics" | wc -l)
ok_status "$([ "$has_alerts" -gt 0 ]; echo $?)" "alerts counted by rule"
broker_up() { curl -s "$URL/metrics" | grep -q '^cdrwatch_kafka_broker_up{client="consumer_audit",broker=".*"} 1$'; }
ok_status "$(wait_until 60 broker_up; echo $?)" "librdkafka's statistics: the audit consumer's broker is UP"

# a second instance on the same address: refused at start, the option named
run timeout 60 "$CDRWATCH" run --config "$KCONFIG" --config "$TMP/http.json" -b "$BROKER" -G http2
is "$rc" 2 "a second run on the same address exits 2"
contains "$TMP/err" "outputs.http_listen: cannot listen on $HTTP_PORT" "and names the option and the address"

# a real Prometheus scrapes it; its HTTP API answers the count
mkdir -p "$TMP/prom"
cat > "$TMP/prom/prometheus.yml" << EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: cdrwatch
    static_configs:
      - targets: ["127.0.0.1:$HTTP_PORT"]
EOF
promtool check config "$TMP/prom/prometheus.yml" > "$TMP/prom/check.log" 2>&1 ||
    bail "promtool refuses the test's Prometheus configuration: $(tail -2 "$TMP/prom/check.log")"
prometheus --config.file="$TMP/prom/prometheus.yml" --storage.tsdb.path="$TMP/prom/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" > "$TMP/prom/prometheus.log" 2>&1 &
BG_PIDS+=("$!")
prom_value() {
    curl -s "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode 'query=sum(cdrwatch_records_total{job="cdrwatch"})' \
        2> /dev/null | "$JQ" -r '.data.result[0].value[1] // empty' 2> /dev/null
}
prom_counted() { [ "$(prom_value)" = "$n_records" ]; }
wait_until 60 prom_counted || true
is "$(prom_value)" "$n_records" "Prometheus scraped cdrwatch_records_total: the number of records produced"
up=$(curl -s "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode 'query=up{job="cdrwatch"}' |
    "$JQ" -r '.data.result[0].value[1] // empty')
is "$up" 1 "and sees the target up"

stop_run "$pid"
is "$rc" 0 "run stops cleanly with the HTTP server on"
done_testing
