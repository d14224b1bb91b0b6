#!/bin/bash
# kafka_service.sh — real broker (8): `cdrwatch run` speaks systemd's notify protocol
# (sd_notify(3)) without systemd: NOTIFY_SOCKET names a unix datagram socket this test reads
# (a small python3 listener writes each datagram as one line, its assignments joined by a tab),
# WATCHDOG_USEC asks for the watchdog and WATCHDOG_PID is cdrwatch's own pid (the subshell
# that sets it execs cdrwatch, keeping the pid: sd_watchdog_enabled() checks it). Asserted:
# READY=1 comes once partitions are assigned (its STATUS= says how many, and records are being
# judged) and EXTEND_TIMEOUT_USEC= before it, WATCHDOG=1 comes again and again, a STATUS= line
# now and then, SIGHUP gives RELOADING=1 (with MONOTONIC_USEC=) and then READY=1, SIGTERM gives
# STOPPING=1 and a clean exit. A second run with WATCHDOG_PID naming another process sends no
# WATCHDOG=1 at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
need_broker
command -v python3 > /dev/null 2>&1 || skip_or_fail "python3 is not installed"
broker_start b1
produce_cdr "$DATASET/cdr.csv.gz"
produce_audit "$DATASET/audit.jsonl.gz"

# listen SOCKET FILE: the datagrams to SOCKET, one a line in FILE (in the background)
listen() {
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", "\t") + "\n")
' "$1" "$2" &
    BG_PIDS+=("$!")
    WAIT_STEP=0.05 wait_until 30 test -S "$1" || bail "the notify listener did not start"
}

# start_notified NAME WATCHDOG-PID|self ARGS...: cdrwatch run (as start_run) with NOTIFY_SOCKET
# $TMP/NAME.sock (its datagrams in $TMP/NAME.notify) and a watchdog of 1 s
start_notified() {
    local name=$1 wpid=$2
    shift 2
    listen "$TMP/$name.sock" "$TMP/$name.notify"
    (
        export NOTIFY_SOCKET="$TMP/$name.sock" WATCHDOG_USEC=1000000
        if [ "$wpid" = self ]; then export WATCHDOG_PID=$BASHPID; else export WATCHDOG_PID=$wpid; fi
        exec "$CDRWATCH" run --config "$KCONFIG" -b "$BROKER" "$@"
    ) > "$TMP/$name.out" 2> "$TMP/$name.err" &
    RUN_PID=$!
    BG_PIDS+=("$RUN_PID")
}

count() { grep -c -- "$2" "$TMP/$1.notify" 2> /dev/null || true; } # count NAME TEXT: datagrams with TEXT
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }                  # at_least NAME TEXT N
lines() { wc -l < "$TMP/$1.notify"; }
# after NAME LINE TEXT: a datagram after the first LINE lines has TEXT; prints its line number
after() { tail -n +"$(($2 + 1))" "$TMP/$1.notify" | { grep -n -m1 -- "$3" || true; } | cut -d: -f1; }
has_after() { [ -n "$(after "$@")" ]; }

start_notified n self -G svc1
ok_status "$(wait_until 90 at_least n READY=1 1; echo $?)" "READY=1 arrives"
ready=$(grep -m1 READY=1 "$TMP/n.notify")
ok_status "$([[ "$ready" =~ STATUS=ready:\ ([0-9]+)\ partition ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]; echo $?)" \
    "with partitions assigned ($ready)"
is "$(count n READY=1)" 1 "once, until a reload"
extend=$(grep -n -m1 '^EXTEND_TIMEOUT_USEC=[1-9]' "$TMP/n.notify" | cut -d: -f1 || true)
ok_status "$([ -n "$extend" ] && [ "$extend" -lt "$(grep -n -m1 READY=1 "$TMP/n.notify" | cut -d: -f1)" ]; echo $?)" \
    "while starting, EXTEND_TIMEOUT_USEC= keeps the start timeout ahead (datagram ${extend:-none}, before READY=1)"
contains "$TMP/n.err" "partitions" "the run's log speaks of its assignment"
ok_status "$(wait_until 60 at_least n '^WATCHDOG=1$' 3; echo $?)" "WATCHDOG=1 arrives again and again ($(count n '^WATCHDOG=1$') so far)"
counted() { grep 'STATUS=running: ' "$TMP/n.notify" | grep -qv 'records 0,'; } # after the data is read
ok_status "$(wait_until 60 counted; echo $?)" "a STATUS= line now and then, with the records read"
status=$(grep 'STATUS=running: ' "$TMP/n.notify" | grep -v 'records 0,' | tail -1)
ok_status "$([[ "$status" =~ records\ ([0-9]+),\ alerts\ ([0-9]+), ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] &&
    [ "${BASH_REMATCH[2]}" -gt 0 ]; echo $?)" "it counts records and alerts ($status)"

# SIGHUP: RELOADING=1 (with MONOTONIC_USEC=), then READY=1
before=$(lines n)
kill -HUP "$RUN_PID"
ok_status "$(wait_until 60 has_after n "$before" READY=1; echo $?)" "SIGHUP: READY=1 again once the reload is over"
reloading=$(after n "$before" RELOADING=1)
ready_again=$(after n "$before" READY=1)
ok_status "$([ -n "$reloading" ] && [ "$reloading" -lt "$ready_again" ]; echo $?)" \
    "RELOADING=1 before it (datagrams $reloading and $ready_again after the signal)"
contains "$TMP/n.notify" "RELOADING=1	MONOTONIC_USEC=" "RELOADING=1 comes with MONOTONIC_USEC="
contains "$TMP/n.err" "configuration reloaded" "and the configuration was reloaded"
ok_status "$(! has_after n "$before" STOPPING=1; echo $?)" "no STOPPING=1 before a stop"

before=$(lines n)
stop_run "$RUN_PID"
is "$rc" 0 "SIGTERM: a clean exit"
ok_status "$(has_after n "$before" STOPPING=1; echo $?)" "SIGTERM: STOPPING=1"

# WATCHDOG_PID of another process: the watchdog is not ours, nothing is sent for it
start_notified other 1 -G svc2
ok_status "$(wait_until 90 at_least other READY=1 1; echo $?)" "another run (WATCHDOG_PID not its own): READY=1"
ok_status "$(wait_until 60 at_least other 'STATUS=running: ' 1; echo $?)" "its status lines"
is "$(count other WATCHDOG=1)" 0 "but no WATCHDOG=1"
stop_run "$RUN_PID"
is "$rc" 0 "it stops cleanly too"
done_testing
