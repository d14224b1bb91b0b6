#!/usr/bin/env python3
"""Check a cdrwatch-gen output directory independently of the generator.

Usage: check-dataset.py DIR      (DIR holds cdr.csv, audit.jsonl, labels.csv [, watchlist.txt])

Checks:
- the CDR header;
- 11 fields per row, with the fields each record type should have;
- both files sorted by time;
- unique record ids;
- a stable IMSI/IMEI per MSISDN, and valid IMEI check digits;
- every audit line is JSON;
- labels: a principal that only scenarios use (svc_backup, svc_tmp) acts only inside its
  windows; a benign principal acting in a scenario has events inside its window; a window of
  principal `*` (a silence) holds no statement at all, only LOGIN/LOGOUT at most;
- watchlist.txt: every identifier (MSISDN, IMSI or IMEI) is a subscriber of cdr.csv, and only
  li_officer, or a watchlist-lookup scenario inside its window, looks a watchlisted person up.

It then recounts from cdr.csv the `rows` of every successful SELECT, COPY, EXPORT or UNLOAD on
a CDR table that logs them (blinding-rows writes reads without) (or on the view mediation.cdr_all, which holds all three) and compares:
- a time range of a table;
- one subscriber's records (in one table, or in all three through the view);
- distinct cells for GROUP BY cell_id;
- LIMIT caps.

It prints what it verified and exits 1 at the first mismatch. Python 3 standard library only.
"""
import bisect
import collections
import csv
import json
import os
import re
import sys
from datetime import datetime

HEADER = ("start_time,record_type,calling_msisdn,called_msisdn,duration_s,record_id,"
          "imsi,imei,cell_id,bytes_up,bytes_down")
TABLES = {"mediation.cdr_voice": "voice", "mediation.cdr_sms": "sms",
          "mediation.cdr_data": "data", "mediation.cdr_all": "all"}
KINDS = ("voice", "sms", "data")
READS = ("SELECT", "COPY", "EXPORT", "UNLOAD")
# The benign actors of cdrwatch-gen: they act outside the scenarios' windows too.
BENIGN = {"svc_billing", "svc_fraud", "alice", "bob", "chen", "rpt_weekly", "dba_ops",
          "svc_monitor", "li_officer"}
RANGE = re.compile(r"start_time >= '([^']+)'(?: AND start_time < '([^']+)')?")


def ms(text):
    """ISO-8601 ('...Z') or SQL ('YYYY-MM-DD hh:mm:ss[.fff]+00') time -> epoch ms."""
    text = text.replace("Z", "+00:00").replace(" ", "T")
    if text.endswith("+00"):
        text += ":00"
    return round(datetime.fromisoformat(text).timestamp() * 1000)


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def load_cdrs(path):
    with open(path, newline="") as f:
        text = f.read()
    lines = text.split("\n")
    if lines[0] != HEADER:
        fail(f"{path}: header is {lines[0]!r}")
    rows = list(csv.reader(lines[1:-1] if lines[-1] == "" else lines[1:]))
    identity, ids = {}, set()
    by_type = collections.defaultdict(list)
    by_subscriber = collections.defaultdict(list)
    cells = collections.defaultdict(list)
    last = None
    for n, r in enumerate(rows, start=2):
        if len(r) != 11:
            fail(f"{path}:{n}: {len(r)} fields")
        t, kind = ms(r[0]), r[1]
        if last is not None and t < last:
            fail(f"{path}:{n}: start_time goes back")
        last = t
        if r[5] in ids:
            fail(f"{path}:{n}: duplicate record_id {r[5]}")
        ids.add(r[5])
        if identity.setdefault(r[2], (r[6], r[7])) != (r[6], r[7]):
            fail(f"{path}:{n}: {r[2]} changed IMSI/IMEI")
        if not luhn_ok(r[7]):
            fail(f"{path}:{n}: IMEI check digit")
        data = kind == "data"
        if kind not in TABLES.values() or bool(r[3]) == data or bool(r[9]) != data \
                or bool(r[10]) != data or (kind == "sms" and r[4] != "0"):
            fail(f"{path}:{n}: fields do not fit record_type {kind}")
        by_type[kind].append(t)
        by_subscriber[(r[2], kind)].append(t)
        cells[kind].append((t, r[8]))
    return len(rows), by_type, by_subscriber, cells, identity


def count(times, start, end):
    return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)


DAY, WEEK = 86400000, 7 * 86400000


def stored(times, start, end, n):
    """The weekly report's rows: the operator's store held CDRs before the first generated day,
    and the part of its range before that day counts as the same hours a whole number of weeks
    later (at the rate of the rest when the set is too short). The set's days are those of its
    CDRs, whole UTC days."""
    if not times:
        return n
    first = times[0] // DAY * DAY
    last = times[-1] // DAY * DAY + DAY
    if start >= first or end <= first:
        return n
    inside = count(times, first, end)
    shift = (first - start + WEEK - 1) // WEEK * WEEK
    if first + shift <= last:
        return inside + count(times, start + shift, first + shift)
    return int(inside * (end - start) / (end - first))


def expected_rows(event, t, by_type, by_subscriber, cells):
    """What a SELECT/COPY on a CDR table must return, or None if it is not checkable."""
    kind = TABLES[event["object"]]
    statement = event.get("statement", "").replace("''", "'")  # UNLOAD doubles its quotes
    if "count(*), min(start_time)" in statement:
        return None  # a one-row summary
    m = RANGE.search(statement)
    start = ms(m.group(1)) if m else 0
    end = min(ms(m.group(2)), t) if m and m.group(2) else t
    if "GROUP BY cell_id" in statement:
        return "groupby", len({c for (ct, c) in cells[kind] if start <= ct < end})
    if event.get("subscribers"):
        (msisdn,) = event["subscribers"]
        kinds = KINDS if kind == "all" else (kind,)
        return "subscriber", sum(count(by_subscriber[(msisdn, k)], start, end) for k in kinds)
    if kind == "all":
        fail(f"a read of the whole view without a subscriber: {statement}")
    n = count(by_type[kind], start, end)
    if event.get("principal") == "rpt_weekly":
        n = stored(by_type[kind], start, end, n)
    limit = re.search(r"LIMIT (\d+)", statement)
    return "range", min(n, int(limit.group(1))) if limit else n


def check_audit(path, by_type, by_subscriber, cells):
    checked, last, events = collections.Counter(), None, []
    with open(path) as f:
        for n, line in enumerate(f, start=1):
            try:
                e = json.loads(line)
            except ValueError as err:
                fail(f"{path}:{n}: {err}")
            t = ms(e["ts"])
            if last is not None and t < last:
                fail(f"{path}:{n}: ts goes back")
            last = t
            events.append((t, e))
            if e.get("status") != "ok" or e.get("object") not in TABLES \
                    or e["action"] not in READS or "rows" not in e:
                continue  # no rows logged (blinding-rows): nothing to recount
            want = expected_rows(e, t, by_type, by_subscriber, cells)
            if want is None:
                continue
            if e.get("rows") != want[1]:
                fail(f"{path}:{n}: rows {e.get('rows')}, cdr.csv gives {want[1]}")
            checked[want[0]] += 1
    return events, checked


def check_labels(path, events):
    with open(path, newline="") as f:
        labels = list(csv.DictReader(f))
    windows = collections.defaultdict(list)
    for label in labels:
        windows[label["principal"]].append((ms(label["start"]), ms(label["end"])))
    for label in labels:
        who, start, end = label["principal"], ms(label["start"]), ms(label["end"])
        inside = [e for t, e in events if start <= t <= end and (who == "*" or e["principal"] == who)]
        if who == "*":
            statements = [e for e in inside if e["action"] not in ("LOGIN", "LOGOUT")]
            if statements:
                fail(f"{path}: {label['scenario']}: {len(statements)} statements inside the "
                     f"silence [{label['start']}, {label['end']}], e.g. {statements[0]}")
            print(f"label {label['scenario']} *: a silence, {len(inside)} connection events inside")
            continue
        if not inside:
            fail(f"{path}: {label['scenario']}: no event of {who} inside its window")
        if who not in BENIGN:
            outside = [t for t, e in events if e["principal"] == who
                       and not any(s <= t <= e_ for s, e_ in windows[who])]
            if outside:
                fail(f"{path}: {label['scenario']}: {who} acts outside its windows")
        print(f"label {label['scenario']} {who}: {len(inside)} events inside its window")
    return labels


def check_watchlist(path, identity, events, labels):
    """Every identifier is a subscriber; only li_officer (or the scenario) looks them up."""
    by_id = {}
    for msisdn, (imsi, imei) in identity.items():
        by_id[msisdn] = by_id[imsi] = by_id[imei] = msisdn
    with open(path) as f:
        ids = [line.rstrip("\n") for line in f]
    watched = set()
    for n, ident in enumerate(ids, start=1):
        if ident not in by_id:
            fail(f"{path}:{n}: {ident} is no MSISDN, IMSI or IMEI of cdr.csv")
        watched.add(by_id[ident])
    allowed = [(l["principal"], ms(l["start"]), ms(l["end"])) for l in labels
               if l["scenario"] == "watchlist-lookup"]
    lookups = collections.Counter()
    for t, e in events:
        if not watched.intersection(e.get("subscribers", [])):
            continue
        who = e["principal"]
        if who != "li_officer" and not any(p == who and s <= t <= end for p, s, end in allowed):
            fail(f"{path}: {who} looks up a watchlisted subscriber at {e['ts']} outside the "
                 "watchlist-lookup scenario")
        lookups[who] += 1
    print(f"watchlist: {len(ids)} identifiers ({len(watched)} people); lookups: "
          + ", ".join(f"{k} {v}" for k, v in sorted(lookups.items())))


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    n, by_type, by_subscriber, cells, identity = load_cdrs(f"{out}/cdr.csv")
    events, checked = check_audit(f"{out}/audit.jsonl", by_type, by_subscriber, cells)
    labels = check_labels(f"{out}/labels.csv", events)
    if os.path.exists(f"{out}/watchlist.txt"):
        check_watchlist(f"{out}/watchlist.txt", identity, events, labels)
    print(f"ok: {n} CDRs, {len(events)} audit events; rows recounted from cdr.csv: "
          + ", ".join(f"{k} {v}" for k, v in sorted(checked.items())))


if __name__ == "__main__":
    main()
