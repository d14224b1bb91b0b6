#!/bin/bash
# broker.sh — a real Apache Kafka broker for the tests: one node in KRaft mode (broker and
# controller in one JVM) on 127.0.0.1, from the jars on Maven Central.
#
#   broker.sh fetch                 copy kafka_2.13 and its runtime dependencies (pom.xml beside
#                                   this script) into the cache, once; later calls do nothing
#   broker.sh start DIR [PARTITIONS]
#                                   format DIR as a fresh node and start it on free ports; prints
#                                   HOST:PORT once `kcat -L` answers. PARTITIONS (default 1) is
#                                   num.partitions, the partition count of auto-created topics
#   broker.sh stop DIR              SIGTERM (controlled shutdown), SIGKILL after 30 s
#   broker.sh kill DIR              SIGKILL: the broker is gone at once, as in a crash
#   broker.sh restart DIR           start a stopped node again: same port, same data
#   broker.sh tool CLASS ARGS...    run one of Kafka's command-line tools (kafka.admin.ConfigCommand...)
#                                   from the cached jars
#   broker.sh check                 exit 0 when java and kcat are there (and mvn, or the jars
#                                   cached); otherwise print what is missing, exit 1
#
# The cache is $CDRWATCH_KAFKA_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/cdrwatch-kafka,
# one directory per Kafka version; parallel fetches wait for each other (flock). With
# CDRWATCH_BROKER_OWNER=PID (the tests set their shell's), a watchdog stops the broker once that
# quick start over peak speed; bench/kafka.sh passes its own). KAFKA_BROKER_PROPS adds lines to
# the broker's server.properties (the benchmark sets log.message.timestamp.type=LogAppendTime).
# KAFKA_EXTRA_LISTENER=NAME adds a listener NAME (security protocol NAME, e.g. SASL_SSL) on one
# more free port, beside PLAINTEXT; its settings come with KAFKA_BROKER_PROPS, and its port is in
# DIR/server.properties (tests/e2e/kafka_sasl.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
cache=${CDRWATCH_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdrwatch-kafka}/$version
libs=$cache/libs
: "${KAFKA_JVM_OPTS:=-Xms256m -Xmx768m -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true}"

die() { echo "broker.sh: $*" >&2; exit 1; }

check() {
    local missing=()
    command -v java > /dev/null || missing+=("java (Debian: default-jre-headless)")
    command -v kcat > /dev/null || missing+=("kcat (Debian: kcat)")
    [ -f "$libs/.complete" ] || command -v mvn > /dev/null || missing+=("mvn (Debian: maven)")
    if [ ${#missing[@]} -gt 0 ]; then
        echo "missing: ${missing[*]}"
        return 1
    fi
}

fetch() {
    [ -f "$libs/.complete" ] && return 0
    command -v mvn > /dev/null || die "mvn is needed to fetch the Kafka jars (Debian: maven)"
    mkdir -p "$cache"
    exec 9> "$cache/.lock"
    flock 9
    [ -f "$libs/.complete" ] && return 0
    rm -rf "$libs.tmp"
    echo "broker.sh: fetching org.apache.kafka:kafka_2.13:$version and its dependencies from Maven Central" >&2
    # -f: the pom is read in place; the jars go to the cache, nothing is written beside the pom
    if ! mvn -B -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$libs.tmp" > "$cache/fetch.log" 2>&1; then
        grep -E 'ERROR|Could not' "$cache/fetch.log" | head -10 >&2
        rm -rf "$libs.tmp"
        die "mvn could not fetch the Kafka jars (is Maven Central reachable? log: $cache/fetch.log)"
    fi
    ls "$libs.tmp"/kafka_2.13-"$version".jar > /dev/null || die "kafka_2.13-$version.jar missing after the fetch"
    touch "$libs.tmp/.complete"
    rm -rf "$libs"
    mv "$libs.tmp" "$libs"
}

free_port() { # a port nothing listens on (the broker start is retried if it was taken meanwhile)
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free port found"
}

cluster_id() { # 16 random bytes, base64url without padding: what StorageTool random-uuid prints
    local id
    # not starting with '-', which StorageTool's argument parser would take for an option
    while id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n') && [ "${id#-}" != "$id" ]; do :; done
    echo "$id"
}

launch() { # launch DIR: start the JVM, wait for kcat -L, print HOST:PORT
    local dir=$1 port pid owner
    port=$(sed -n 's/^listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\),.*/\1/p' "$dir/server.properties")
    # shellcheck disable=SC2086 # KAFKA_JVM_OPTS is a list of options
    java $KAFKA_JVM_OPTS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$libs/*" kafka.Kafka \
        "$dir/server.properties" < /dev/null >> "$dir/broker.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/pid"
    owner=${CDRWATCH_BROKER_OWNER:-}
    if [ -n "$owner" ]; then
        ( # watchdog: the broker does not outlive the test that started it
            while kill -0 "$owner" 2> /dev/null && kill -0 "$pid" 2> /dev/null; do sleep 2; done
            kill -9 "$pid" 2> /dev/null || true
        ) < /dev/null > /dev/null 2>&1 &
        echo $! > "$dir/watchdog.pid"
    fi
    for _ in $(seq 1 300); do
        if ! kill -0 "$pid" 2> /dev/null; then
            return 1
        fi
        if kcat -L -b "127.0.0.1:$port" -m 1 > /dev/null 2>&1; then
            echo "127.0.0.1:$port"
            return 0
        fi
        sleep 0.2
    done
    kill -9 "$pid" 2> /dev/null || true
    die "the broker did not answer within 60 s (log: $dir/broker.log)"
}

start() {
    local dir=$1 partitions=${2:-1} port cport extra="" extra_map=""
    fetch
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    for attempt in 1 2 3; do
        port=$(free_port)
        cport=$(free_port)
        if [ -n "${KAFKA_EXTRA_LISTENER:-}" ]; then
            extra=",$KAFKA_EXTRA_LISTENER://127.0.0.1:$(free_port)"
            extra_map=",$KAFKA_EXTRA_LISTENER:$KAFKA_EXTRA_LISTENER"
        fi
        rm -rf "$dir/data"
        cat > "$dir/server.properties" << EOF
# single-node KRaft cluster for tests: broker and controller in one process, 127.0.0.1 only
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport$extra
advertised.listeners=PLAINTEXT://127.0.0.1:$port$extra
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT$extra_map
log.dirs=$dir/data
num.partitions=$partitions
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
${KAFKA_BROKER_PROPS:-}
EOF
        # shellcheck disable=SC2086
        java $KAFKA_JVM_OPTS -cp "$libs/*" kafka.tools.StorageTool format -t "$(cluster_id)" \
            -c "$dir/server.properties" > "$dir/format.log" 2>&1 ||
            die "kafka.tools.StorageTool format failed: $(tail -3 "$dir/format.log")"
        : > "$dir/broker.log"
        if launch "$dir"; then
            return 0
        fi
        grep -q "Address already in use" "$dir/broker.log" || break
        echo "broker.sh: port taken meanwhile (attempt $attempt), trying others" >&2
    done
    tail -20 "$dir/broker.log" >&2
    die "the broker exited during startup (log: $dir/broker.log)"
}

kill_now() {
    local dir=$1
    [ -f "$dir/pid" ] || return 0
    kill -9 "$(cat "$dir/pid")" 2> /dev/null || true
    while kill -0 "$(cat "$dir/pid")" 2> /dev/null; do sleep 0.05; done
    [ -f "$dir/watchdog.pid" ] && kill "$(cat "$dir/watchdog.pid")" 2> /dev/null || true
    rm -f "$dir/pid" "$dir/watchdog.pid"
}

stop() {
    local dir=$1 pid
    [ -f "$dir/pid" ] || return 0
    pid=$(cat "$dir/pid")
    if kill -TERM "$pid" 2> /dev/null; then
        for _ in $(seq 1 300); do
            kill -0 "$pid" 2> /dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2> /dev/null || true
    fi
    [ -f "$dir/watchdog.pid" ] && kill "$(cat "$dir/watchdog.pid")" 2> /dev/null || true
    rm -f "$dir/pid" "$dir/watchdog.pid"
}

case "${1:-}" in
fetch) fetch ;;
check) check ;;
start) [ $# -ge 2 ] || die "usage: broker.sh start DIR [PARTITIONS]"; start "$2" "${3:-1}" ;;
stop) [ $# -ge 2 ] || die "usage: broker.sh stop DIR"; stop "$2" ;;
kill) [ $# -ge 2 ] || die "usage: broker.sh kill DIR"; kill_now "$2" ;;
restart)
    [ $# -ge 2 ] || die "usage: broker.sh restart DIR"
    [ -f "$2/server.properties" ] || die "$2 holds no broker"
    launch "$(cd "$2" && pwd)" || { tail -20 "$2/broker.log" >&2; die "the broker did not restart"; }
    ;;
tool)
    [ $# -ge 2 ] || die "usage: broker.sh tool CLASS ARGS..."
    shift
    java $KAFKA_JVM_OPTS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$libs/*" "$@"
    ;;
*) die "usage: broker.sh fetch | check | start DIR [PARTITIONS] | stop DIR | kill DIR | restart DIR | tool CLASS ARGS" ;;
esac
