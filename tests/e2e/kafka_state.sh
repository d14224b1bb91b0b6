#!/bin/bash
# kafka_state.sh — real broker (6): the learned state survives a restart. datasets/scenarios (14
# days, the shipped configuration, whose learned rules — first-seen hosts, who exports, the
# hour-of-week profiles — fire after day 10) is cut by event time at day 10; cdrwatch runs over
# the first part, checkpoints its state to the compacted topic cdrwatch-state, and a restart over
# the rest raises exactly the alerts of one uninterrupted replay of the 14 days:
#  1. a clean stop and a restart: the restart restores the checkpoint and reads no record again;
#  2. a `kill -9` (no shutdown: the last periodic checkpoint counts): the restart reads only what
#     follows that checkpoint (from its own statistics and the positions it resumes from), not
#     the days before;
#  3. `run --state-in` with the snapshot of a replay of the first part, on topics that hold only
#     the second: the alerts of a replay of the whole after the cut;
#  4. two instances, one killed (-9) after the first part: the other is assigned its partition and
#     restores its checkpoint; over the second part (read by a new instance from the
#     checkpoints) the alerts are an uninterrupted replay's;
#  5. SIGHUP: a broken configuration is refused, a good one is run on with the state of the rules
#     it did not change (a threshold, a severity), a changed rule and an added one fresh;
#  6. the state topic deleted under a running instance: created again, compacted, the whole state
#     written to it at once; a restart restores from it;
#  and the state topic is created compacted. Each case has its own topics and group.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
need_broker
KTOPIC=$top_builddir/tests/kafka/ktopic # deletes a topic, prints its cleanup.policy
# Two partitions per topic: a checkpoint part per audit partition. The group coordinator waits 3 s
# for more members before a new group's first assignment (production's default), so that the two
# instances of case 4, started together, get a partition each from the start: with 0, the first to
# join may read part of the input alone before the rebalance moves a partition to the other, and
# the parts restored then are of two moments (not exact yet: see doc/state.md, "Not covered yet").
export KAFKA_BROKER_PROPS="group.initial.rebalance.delay.ms=3000"
broker_start b6 2
unset KAFKA_BROKER_PROPS

T=2026-03-11T00:00:00Z
D="$top_srcdir/datasets/scenarios"
gzip -dc "$D/audit.jsonl.gz" | awk -v T="$T" -v A="$TMP/audA.jsonl" -v B="$TMP/audB.jsonl" \
    'match($0, /"ts":"[^"]*"/) { ts = substr($0, RSTART + 6, RLENGTH - 7) } { print > (ts < T ? A : B) }'
gzip -dc "$D/cdr.csv.gz" | awk -F, -v T="$T" -v A="$TMP/cdrA.csv" -v B="$TMP/cdrB.csv" \
    'NR == 1 { print > A; print > B; next } { print > ($1 < T ? A : B) }'
n_a=$(($(wc -l < "$TMP/cdrA.csv") - 1 + $(wc -l < "$TMP/audA.jsonl")))
n_b=$(($(wc -l < "$TMP/cdrB.csv") - 1 + $(wc -l < "$TMP/audB.jsonl")))

# the shipped configuration, with the short timers of the tests and a checkpoint every 100 ms
"$CDRWATCH" check-config > "$TMP/shipped.json"
"$JQ" '.kafka.commit_interval = "200ms" | .kafka.stats_interval = "100ms" | .kafka.idle_wait = "500ms"
       | .kafka.properties += {"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}
       | .state = {"interval": "100ms", "part_size": 65536}' "$TMP/shipped.json" > "$TMP/base.json"
"$CDRWATCH" replay --quiet --config "$TMP/base.json" --cdr "$TMP/cdrA.csv" --cdr "$TMP/cdrB.csv" \
    --audit "$TMP/audA.jsonl" --audit "$TMP/audB.jsonl" | normalize > "$TMP/expected"
"$JQ" -r 'select(."@timestamp" >= "2026-03-11") | .rule.id' "$TMP/expected" | sort -u > "$TMP/rules-after"
for r in first-seen-client-host cdr-export-by-non-exporter cdr-off-hours; do
    contains "$TMP/rules-after" "$r" "the learned rule $r raises an alert after the cut"
done

# use_case N: configuration $TMP/cN.json on topics cdrN, db-auditN, alertsN
use_case() {
    "$JQ" --arg n "$1" '.inputs.cdr.topic = "cdr\($n)" | .inputs.audit.topic = "db-audit\($n)"
        | .outputs.alerts_topic = "alerts\($n)"' "$TMP/base.json" > "$TMP/c$1.json"
    kcat -L -b "$BROKER" -t "alerts$1" > /dev/null 2>&1 || true
}
load() { # load N PART
    produce_cdr "$TMP/cdr$2.csv" "cdr$1"
    produce_audit "$TMP/aud$2.jsonl" "db-audit$1"
}
run_to_end() { # run_to_end N GROUP ARGS...
    local n=$1 g=$2
    shift 2
    run timeout 300 "$CDRWATCH" run --config "$TMP/c$n.json" -b "$BROKER" -G "$g" --exit-at-end --verbose "$@"
}
alerts_of() { topic_messages "alerts$1" | normalize; }
# the offsets the partitions of a run (--verbose) start from, summed (its first assignment)
# (start -2 is librdkafka's OFFSET_BEGINNING: a partition that held nothing at the checkpoint, as
# cdr2/0 may when kcat's partitioner puts every CDR of the first part in the other partition)
start_total() {
    grep -o '[^ ]*/[0-9]*: committed -\?[0-9]*, rewind -\?[0-9]*, start -\?[0-9]*' "$1" |
        awk '!seen[$1]++ { s += $NF == -2 ? 0 : $NF } END { print s + 0 }'
}

# 1. a clean stop after the first part, a restart over the second
use_case 1
load 1 A
run_to_end 1 s1
is "$rc" 0 "clean: the run over the first part ends cleanly"
ok_status "$(stats_at_least "$TMP/err" checkpoints 1; echo $?)" "clean: it wrote checkpoints ($(stats_value "$TMP/err" checkpoints || echo none))"
load 1 B
run_to_end 1 s1
is "$rc" 0 "clean: the restart ends cleanly"
contains "$TMP/err" "state: restored 3 checkpoint part(s) from cdrwatch-state: no rewind" \
    "clean: the restart restores the checkpoints of its two audit partitions and of the group"
is "$(stats_value "$TMP/err" rebuilt)" 0 "clean: no record read again"
is "$(stats_value "$TMP/err" "records in")" "$n_b" "clean: it reads the $n_b records of the second part, nothing before"
alerts_of 1 > "$TMP/got1"
same_file "$TMP/got1" "$TMP/expected" "clean: the alerts are those of an uninterrupted replay of the 14 days"

# the state topic was created, compacted
bash "$BROKER_SH" tool kafka.admin.ConfigCommand --bootstrap-server "$BROKER" --entity-type topics \
    --entity-name cdrwatch-state --describe > "$TMP/state-topic" 2>&1 || true
contains "$TMP/state-topic" "cleanup.policy=compact" "the state topic is created with cleanup.policy=compact"

# 2. kill -9 once a periodic checkpoint taken after the first part is in the topic (its commit
# follows it: the commits count grows), then the second part arrives and a restart reads it
use_case 2
load 2 A
"$CDRWATCH" run --config "$TMP/c2.json" -b "$BROKER" -G s2 --verbose > "$TMP/k.out" 2> "$TMP/k.err" &
RUN_PID=$!
BG_PIDS+=("$RUN_PID")
taken_after_a() { awk -v n="$n_a" '/state: checkpoint [0-9]+ taken after/ && $(NF - 1) >= n { f = 1 } END { exit !f }' "$TMP/k.err"; }
ok_status "$(WAIT_STEP=0.02 wait_until 120 taken_after_a; echo $?)" "kill: a checkpoint is taken after the first part"
commits=$(stats_value "$TMP/k.err" commits || echo 0)
WAIT_STEP=0.02 wait_until 60 stats_at_least "$TMP/k.err" commits $((commits + 2)) || true
kill -9 "$RUN_PID"
wait "$RUN_PID" 2> /dev/null || true
load 2 B
run_to_end 2 s2
is "$rc" 0 "kill: the restart ends cleanly"
contains "$TMP/err" "no rewind" "kill: the restart restores the checkpoints"
start=$(start_total "$TMP/err")
again=$(($(stats_value "$TMP/err" rebuilt || echo -1000000) + $(stats_value "$TMP/err" "records in" || echo -1000000)))
is "$again" "$((n_a + n_b - start))" \
    "kill: the restart reads exactly the records after its checkpoint ($again; $(stats_value "$TMP/err" rebuilt) of them again, silently)"
ok_status "$([ "$start" -ge "$n_a" ]; echo $?)" "kill: its checkpoint covers the $n_a records of the days before: they are not read again ($start)"
alerts_of 2 > "$TMP/got2"
same_file "$TMP/got2" "$TMP/expected" "kill: the alerts are those of an uninterrupted replay (duplicates aside)"

# 3. run --state-in: production starts from what a replay of the first part learned
"$CDRWATCH" replay --quiet --config "$TMP/base.json" --cdr "$TMP/cdrA.csv" --audit "$TMP/audA.jsonl" \
    --state-out "$TMP/a.state" | normalize > "$TMP/a-alerts"
"$CDRWATCH" replay --quiet --config "$TMP/base.json" --cdr "$TMP/cdrB.csv" --audit "$TMP/audB.jsonl" \
    --state-in "$TMP/a.state" | normalize > "$TMP/b-alerts"
LC_ALL=C comm -23 "$TMP/expected" "$TMP/a-alerts" > "$TMP/expected-after"
same_file "$TMP/b-alerts" "$TMP/expected-after" "state-in: the replay of the second part from the snapshot is the whole's after the cut"
use_case 3
load 3 B
run_to_end 3 s3 --state-in "$TMP/a.state"
is "$rc" 0 "state-in: the run ends cleanly"
contains "$TMP/err" "the input positions in it are replay's and are ignored" "state-in: it says the file's positions are ignored"
alerts_of 3 > "$TMP/got3"
same_file "$TMP/got3" "$TMP/expected-after" "state-in: run over the second part raises the alerts of a replay of the whole after the cut"
run "$CDRWATCH" run --config "$TMP/c3.json" -b "$BROKER" -G s3 --state-in "$TMP/cdrA.csv"
is "$rc" 2 "state-in: a file that is not a snapshot: exit 2"
contains "$TMP/err" "not a cdrwatch state file" "state-in: ... saying so"

# 4. a rebalance: two instances (an audit partition each), one killed, the other takes over
use_case 4
load 4 A
start_instance() { # start_instance NAME: in the background, its pid in the variable of that name
    "$CDRWATCH" run --config "$TMP/c4.json" -b "$BROKER" -G s4 --verbose > "$TMP/$1.out" 2> "$TMP/$1.err" &
    BG_PIDS+=("$!")
    printf -v "$1" '%s' "$!"
}
start_instance x
start_instance y
last_assigned() { grep -o 'assigned [0-9]* partition(s) of db-audit4' "$TMP/$1.err" | tail -1 | cut -d' ' -f2; }
one_each() { [ "$(last_assigned x)" = 1 ] && [ "$(last_assigned y)" = 1 ]; }
ok_status "$(wait_until 120 one_each; echo $?)" "rebalance: the two instances share the two audit partitions"
# each has read its share of the first part, checkpointed it, and committed after it
settled() { # settled NAME: no lag, and a checkpoint taken after every record it read (none when
    # it read nothing: what it restored is in the topic already)
    local n
    [ "$(stats_value "$TMP/$1.err" lag)" = 0 ] && n=$(stats_value "$TMP/$1.err" "records in") &&
        awk -v n="$n" '/state: checkpoint [0-9]+ taken after/ && $(NF - 1) >= n { f = 1 } END { exit !(f || n == 0) }' "$TMP/$1.err"
}
ok_status "$(WAIT_STEP=0.05 wait_until 120 eval 'settled x && settled y'; echo $?)" "rebalance: both read their share of the first part and checkpointed it"
commits=$(stats_value "$TMP/y.err" commits || echo 0)
WAIT_STEP=0.02 wait_until 60 stats_at_least "$TMP/y.err" commits $((commits + 2)) || true
kill -9 "$y"
wait "$y" 2> /dev/null || true
both() { [ "$(last_assigned x)" = 2 ]; }
ok_status "$(wait_until 120 both; echo $?)" "rebalance: the survivor is assigned both audit partitions"
contains "$TMP/x.err" "state: restored 3 checkpoint part(s)" "rebalance: ... and restores their checkpoints, the killed one's included"
# The survivor stops (checkpointing both partitions, the one it took over included) before the
# second part is loaded: loaded while it is live, one topic would run a day ahead of the other
# and the other's records would rightly be late (doc/kafka.md, "Event time"). A new instance
# then reads the second part from the survivor's checkpoints.
stop_run "$x"
is "$rc" 0 "rebalance: the survivor stops cleanly"
load 4 B
run_to_end 4 s4
is "$rc" 0 "rebalance: a new instance over the second part ends cleanly"
contains "$TMP/err" "state: restored 3 checkpoint part(s)" "rebalance: ... from the checkpoints"
is "$(stats_value "$TMP/err" "records in")" "$n_b" "rebalance: ... reading the second part, nothing before"
alerts_of 4 > "$TMP/got4"
same_file "$TMP/got4" "$TMP/expected" "rebalance: the alerts of both instances are those of an uninterrupted replay"

# 5. SIGHUP. The run is started with a second, empty configuration layer; once it has processed
# the first part, a broken layer is refused (the run goes on with its configuration), then a good
# one is run on: a severity and a threshold changed (those rules keep their state), a bucket
# changed (that rule starts fresh), a rule added. Then the audit records of the second part
# arrive while it runs, all in one partition (loaded live into two topics or partitions, one would
# run ahead of the other and the records behind would rightly be late): the alerts are a replay's
# of them, from the first part's snapshot, with the new layer (the same decisions, rule by rule)
# — the learned rules included.
use_case 5
echo '{}' > "$TMP/layer5.json"
load 5 A
"$CDRWATCH" run --config "$TMP/c5.json" --config "$TMP/layer5.json" -b "$BROKER" -G s5 --verbose \
    > "$TMP/h.out" 2> "$TMP/h.err" &
RUN_PID=$!
BG_PIDS+=("$RUN_PID")
ok_status "$(WAIT_STEP=0.1 wait_until 120 stats_at_least "$TMP/h.err" "records in" "$n_a"; echo $?)" \
    "reload: the run processes the first part"
echo '{"rules": [{"id": "cdr-off-hours", "severity": ' > "$TMP/layer5.json"
kill -HUP "$RUN_PID"
refused() { grep -q "configuration not reloaded" "$TMP/h.err"; }
ok_status "$(WAIT_STEP=0.1 wait_until 60 refused; echo $?)" "reload: a broken file is refused"
contains "$TMP/h.err" "configuration not reloaded, the running one stays: $TMP/layer5.json" \
    "reload: ... with the file's error"
ok_status "$(kill -0 "$RUN_PID"; echo $?)" "reload: ... and the run goes on"
cat > "$TMP/layer5.json" << 'EOF'
{"rules": [
  {"id": "cdr-off-hours", "severity": 61},
  {"id": "cdr-bulk-read-1h", "threshold": 30000},
  {"id": "cdr-statement-burst-1h", "bucket": "10m"},
  {"id": "reload-added", "name": "Added by a reload", "filter": {"object": "@cdr_objects", "action": "@read_actions"},
   "key": ["principal"], "metric": {"kind": "sum", "field": "rows"}, "window": "1h", "bucket": "5m",
   "threshold": 2000, "suppress": "6h", "severity": 30}
]}
EOF
kill -HUP "$RUN_PID"
reloaded() { stats_at_least "$TMP/h.err" reloads 1; }
ok_status "$(WAIT_STEP=0.1 wait_until 60 reloaded; echo $?)" "reload: a good file is run on"
contains "$TMP/h.err" "configuration reloaded from $TMP/layer5.json: $(($("$JQ" '.rules | length' "$TMP/shipped.json") + 1)) rule(s), the state of unchanged rules kept" \
    "reload: ... saying so"
for r in cdr-off-hours cdr-bulk-read-1h first-seen-client-host; do
    contains "$TMP/h.err" "state: rule $r: state kept" "reload: $r keeps its state"
done
contains "$TMP/h.err" "state: rule cdr-statement-burst-1h changed" "reload: the rule whose bucket changed starts fresh"
contains "$TMP/h.err" "state: rule reload-added is not in the snapshot: it starts fresh" "reload: the added rule starts fresh"
kcat -P -b "$BROKER" -t db-audit5 -p 0 -z gzip < "$TMP/audB.jsonl"
n_audb=$(wc -l < "$TMP/audB.jsonl")
ok_status "$(WAIT_STEP=0.1 wait_until 120 stats_at_least "$TMP/h.err" "records in" $((n_a + n_audb)); echo $?)" \
    "reload: the run processes the audit records of the second part"
is "$(stats_value "$TMP/h.err" late)" 0 "reload: ... none of them late"
stop_run "$RUN_PID"
is "$rc" 0 "reload: the run stops cleanly"
"$CDRWATCH" replay --quiet --config "$TMP/base.json" --config "$TMP/layer5.json" --audit "$TMP/audB.jsonl" \
    --state-in "$TMP/a.state" 2> "$TMP/b5-err" | normalize > "$TMP/b5-alerts"
LC_ALL=C sort -u "$TMP/a-alerts" "$TMP/b5-alerts" > "$TMP/expected5"
"$JQ" -r '.rule.id' "$TMP/b5-alerts" | sort -u > "$TMP/rules5"
for r in reload-added cdr-off-hours first-seen-client-host; do
    contains "$TMP/rules5" "$r" "reload: $r raises an alert over the second part"
done
alerts_of 5 > "$TMP/got5"
same_file "$TMP/got5" "$TMP/expected5" "reload: the alerts are the first part's, then a replay's of the second from its snapshot with the new layer"

# 6. the state topic deleted under a running instance (after it checkpointed the first part):
# it is created again, compacted, and the whole state written to it at the next round; a restart
# after the second part restores from it and reads nothing again
use_case 6
load 6 A
"$CDRWATCH" run --config "$TMP/c6.json" -b "$BROKER" -G s6 --verbose > "$TMP/d.out" 2> "$TMP/d.err" &
RUN_PID=$!
BG_PIDS+=("$RUN_PID")
taken_after() { # taken_after FILE N: a checkpoint was taken after at least N records
    awk -v n="$2" '/state: checkpoint [0-9]+ taken after/ && $(NF - 1) >= n { f = 1 } END { exit !f }' "$1"
}
ok_status "$(WAIT_STEP=0.1 wait_until 120 taken_after "$TMP/d.err" "$n_a"; echo $?)" "topic deleted: the first part is checkpointed"
# deleted once that checkpoint is acknowledged (its commit follows it: the commits count grows),
# so that no checkpoint message is in flight: one would make librdkafka ask the broker, which
# (auto.create.topics.enable) would create the topic itself, not compacted (doc/state.md)
commits=$(stats_value "$TMP/d.err" commits || echo 0)
WAIT_STEP=0.05 wait_until 60 stats_at_least "$TMP/d.err" commits $((commits + 2)) || true
"$KTOPIC" "$BROKER" delete cdrwatch-state
gone() { grep -q "state topic cdrwatch-state is gone" "$TMP/d.err"; }
ok_status "$(WAIT_STEP=0.1 wait_until 60 gone; echo $?)" "topic deleted: the run notices at its next checkpoint round"
# the whole state written again after that line: a checkpoint taken after the first part
rewritten() { sed -n '/state topic cdrwatch-state is gone/,$p' "$TMP/d.err" > "$TMP/d.after"; taken_after "$TMP/d.after" "$n_a"; }
ok_status "$(WAIT_STEP=0.1 wait_until 60 rewritten; echo $?)" "topic deleted: ... and writes the whole state to it again"
is "$("$KTOPIC" "$BROKER" policy cdrwatch-state)" "cleanup.policy=compact" "topic deleted: it is created again compacted"
ok_status "$(kill -0 "$RUN_PID"; echo $?)" "topic deleted: the run goes on"
stop_run "$RUN_PID"
is "$rc" 0 "topic deleted: the run stops cleanly"
load 6 B
run_to_end 6 s6
is "$rc" 0 "topic deleted: the restart over the second part ends cleanly"
contains "$TMP/err" "state: restored 3 checkpoint part(s) from cdrwatch-state: no rewind" \
    "topic deleted: the restart restores the checkpoints written after it"
is "$(stats_value "$TMP/err" "records in")" "$n_b" "topic deleted: ... reading the second part, nothing before"
alerts_of 6 > "$TMP/got6"
same_file "$TMP/got6" "$TMP/expected" "topic deleted: the alerts are those of an uninterrupted replay"

done_testing
