#!/bin/bash
# bench/peers.sh — cdrwatch against its peers on the same CDR file, side by side in one run, as
# ratios (issue 10: >= 10 x faster than SEC, >= 5 x faster than pandas):
#
#   bench/peers.sh [BUILD_DIR] [WORK_DIR]       # defaults: _build/w, ${TMPDIR:-/tmp}/cdrwatch-bench
#   RUNS=5 THRESHOLD=50 bench/peers.sh ...      # runs per program (default 3), best counts
#
# The file: about 2 M CDRs (CSV) of 100 000 subscribers from cdrwatch-gen, cached in WORK_DIR
# (the same as bench/floors.sh's). The contenders, each run whole (start-up included):
#   - cdrwatch replay --quiet --cdr FILE, the default configuration (no shipped rule reads CDRs:
#     it feeds the CDR reference, a count-min sketch per subscriber, and the identity links);
#   - the same with one more rule, the peers' work: CDRs per calling subscriber in a sliding hour
#     (5-minute buckets), threshold THRESHOLD — a window per subscriber, alerts written;
#   - SEC (Debian's `sec`), one SingleWithThreshold rule whose desc holds the calling subscriber
#     (one correlation operation per subscriber), window 3600 s, threshold THRESHOLD, the file
#     read with --notail --bufsize=1; its window is wall-clock time (SEC has no event-time mode);
#   - pandas (Debian's python3-pandas, run by /usr/bin/python3), bench/peer-pandas.py: read_csv,
#     groupby subscriber, rolling('1h') count on the event time.
# What each does and does not do: bench/README.md. Installs nothing; without sec or pandas it
# says which Debian package to install. Measures, asserts nothing. SEC takes about 20-40 s a run.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init "$@"
THRESHOLD=${THRESHOLD:-50}
python=/usr/bin/python3 # not the first python3 on PATH: Debian's pandas is for Debian's python
command -v sec > /dev/null || { echo "bench: SEC is missing: apt-get install -y sec" >&2; exit 2; }
command -v jq > /dev/null || { echo "bench: jq is missing" >&2; exit 2; }
"$python" -c 'import pandas' 2> /dev/null || { echo "bench: pandas is missing: apt-get install -y python3-pandas" >&2; exit 2; }

cdr=$(cdr_file)
n_cdr=$(($(wc -l < "$cdr") - 1))
rules=$work/peers-sec.conf
cat > "$rules" << RULES
# one operation per calling subscriber (the desc holds \$1), THRESHOLD CDRs within 3600 s
type=SingleWithThreshold
ptype=RegExp
pattern=^\d[^,]*,[^,]*,([^,]+),
desc=cdr burst \$1
action=write - \$1
window=3600
thresh=$THRESHOLD
RULES

overlay=$work/peers-rule.json
cat > "$overlay" << RULE
{ "rules": [ { "id": "peer-cdr-per-subscriber-1h", "name": "CDRs per subscriber in an hour", "stream": "cdr",
    "key": ["calling_msisdn"], "window": "1h", "bucket": "5m", "threshold": $THRESHOLD } ] }
RULE
shipped=$work/peers-shipped.json # this build's own effective default configuration, the base layer
"$cw" check-config > "$shipped"

machine
echo "SEC: $(sec --version | head -1); pandas $("$python" -c 'import pandas; print(pandas.__version__)'), $("$python" --version)"
echo

echo "$n_cdr CDRs (CSV): $cdr" >&2
cdrwatch() { "$cw" replay --quiet --cdr "$cdr"; }
cdrwatch_rule() { "$cw" replay --quiet --config "$shipped" --config "$overlay" --cdr "$cdr" > "$work/peers-cdrwatch.out"; }
sec_peer() { sec --conf="$rules" --input="$cdr" --notail --bufsize=1 > "$work/peers-sec.out"; }
pandas_peer() { "$python" "$bench_src/peer-pandas.py" "$cdr" "$THRESHOLD" > "$work/peers-pandas.out"; }
race cdrwatch cdrwatch_rule sec_peer pandas_peer
echo "  cdrwatch with the rule: $(jq -r '.cdrwatch.key.calling_msisdn' "$work/peers-cdrwatch.out" | sort -u | wc -l) subscribers reached $THRESHOLD" >&2
echo "  SEC: $(wc -l < "$work/peers-sec.out") subscribers reached $THRESHOLD (wall-clock window: the whole file)" >&2
echo "  pandas: $(cat "$work/peers-pandas.out")" >&2

table_head
versus "SEC / cdrwatch, $n_cdr CDRs" sec_peer cdrwatch ">=" 10
versus "pandas / cdrwatch, $n_cdr CDRs" pandas_peer cdrwatch ">=" 5
versus "SEC / cdrwatch + per-subscriber 1 h rule" sec_peer cdrwatch_rule ">=" 10
versus "pandas / cdrwatch + per-subscriber 1 h rule" pandas_peer cdrwatch_rule ">=" 5
