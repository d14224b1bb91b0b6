#!/usr/bin/env python3
# gen.py — writes the inputs of the evasion-* cases (run from this folder; the outputs are
# checked in): one thief per trick per format, each hiding a 900 000-row read of a CDR table
# behind a statement broken on purpose. See each case's README.
import gzip, os

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.dirname(HERE)

# (name, bytes inserted into a comment of the statement)
TRICKS = [
    ("badbyte", b"\xff\xfe"),
    ("overlong", b"\xc0\xaf\xe0\x80\xaf"),
    ("surrogate", b"\xed\xa0\x80"),
    ("cutseq", b"\xe2\x82"),
    ("control", b"\x1b[2J\x08\x7f"),
    ("nul", b"a\x00b"),
    ("long", b"A" * 100000),  # over the 16 KiB statement limit, under the 1 MiB record limit
]
STMT = b"SELECT * FROM mediation.cdr_voice /* %s */"


def out(case, name):
    """A gzip file (replay reads .gz) with no time in its header, so the bytes are reproducible."""
    return gzip.GzipFile(os.path.join(CASES, case, name + ".gz"), "wb", mtime=0)


def stmt(trick):
    return STMT % trick


def ts(i, fmt):
    return fmt % (2 + i // 60, i % 60)


def canonical():
    with out("evasion-canonical", "audit.jsonl") as f:
        f.write(b'{"ts":"2026-03-04T01:00:00Z","principal":"analyst","action":"SELECT","object":"mediation.cdr_voice","rows":20,"statement":"SELECT * FROM mediation.cdr_voice WHERE msisdn = \'447700900123\'"}\n')
        for i, (name, trick) in enumerate(TRICKS + [("esc_nul", b"\\u0000"), ("esc_surrogate", b"\\ud800")]):
            s = stmt(trick)
            f.write(b'{"ts":"%s","principal":"json_%s","action":"SELECT","object":"mediation.cdr_voice","rows":900000,"statement":"%s"}\n'
                    % (ts(i, "2026-03-04T%02d:%02d:00Z").encode(), name.encode(), s))
    with out("evasion-canonical", "audit.csv") as f:
        f.write(b"ts,principal,action,object,rows,statement\n")
        for i, (name, trick) in enumerate(TRICKS):
            s = stmt(trick)
            f.write(b'%s,csv_%s,SELECT,mediation.cdr_voice,900000,"%s"\n' % (ts(i, "2026-03-04T%02d:%02d:30Z").encode(), name.encode(), s))


def pgaudit():
    with out("evasion-pgaudit", "postgresql.log") as f:
        for i, (name, trick) in enumerate(TRICKS):
            f.write(b"%s UTC [%d]: user=pg_%s,db=mediation,app=psql,client=10.9.9.9 LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,mediation.cdr_voice,%s,<not logged>,900000\n"
                    % (ts(i, "2026-03-04 %02d:%02d:00").encode(), 300 + i, name.encode(), stmt(trick)))


def mariadb():
    with out("evasion-mariadb", "server_audit.log") as f:
        for i, (name, trick) in enumerate(TRICKS):
            f.write(b"%s,db01,maria_%s,10.9.9.9,%d,1,QUERY,mediation,'%s',0\n"
                    % (ts(i, "20260304 %02d:%02d:00").encode(), name.encode(), 300 + i, stmt(trick)))


def mysql_json():
    with out("evasion-mysql-json", "audit.json") as f:
        for i, (name, trick) in enumerate(TRICKS + [("esc_nul", b"\\u0000"), ("esc_surrogate", b"\\udc00")]):
            f.write(b'{"timestamp":"%s","id":%d,"class":"general","event":"status","connection_id":%d,'
                    b'"account":{"user":"my_%s","host":"%%"},"login":{"user":"my_%s","os":"","ip":"10.9.9.9","proxy":""},'
                    b'"general_data":{"command":"Query","sql_command":"select","query":"%s","status":0},'
                    b'"query_statistics":{"rows_sent":900000}}\n'
                    % (ts(i, "2026-03-04 %02d:%02d:00").encode(), i, 300 + i, name.encode(), name.encode(), stmt(trick)))


canonical()
pgaudit()
mariadb()
mysql_json()
