"""bench/peer-pandas.py — the pandas peer of bench/peers.sh: a rolling one-hour count of CDRs
per calling subscriber, as an analyst would write it.

    /usr/bin/python3 bench/peer-pandas.py CDR.csv [THRESHOLD]

Reads the CSV (start_time and calling_msisdn; every record parsed), parses the times, sorts by
time, and for every record counts the same subscriber's records in the hour up to it
(groupby + rolling('1h') count, event time). Prints the records, the subscribers, the
subscribers whose count reached THRESHOLD (default 50) at least once, and the seconds (from
the start of reading; the interpreter's and pandas' start-up are outside, bench/peers.sh times
the whole command).
"""
import sys
import time

import pandas as pd


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: peer-pandas.py CDR.csv [THRESHOLD]")
    threshold = int(sys.argv[2]) if len(sys.argv) == 3 else 50
    t0 = time.monotonic()
    df = pd.read_csv(sys.argv[1], usecols=["start_time", "calling_msisdn"])
    df["start_time"] = pd.to_datetime(df["start_time"], format="%Y-%m-%dT%H:%M:%S.%fZ")
    df = df.dropna().sort_values("start_time", kind="stable")
    df["n"] = 1
    counts = df.groupby("calling_msisdn").rolling("1h", on="start_time")["n"].count()
    over = counts[counts >= threshold].index.get_level_values(0).nunique()
    print(f"records {len(df)} subscribers {df['calling_msisdn'].nunique()} "
          f"over-threshold {over} seconds {time.monotonic() - t0:.3f}")


main()
