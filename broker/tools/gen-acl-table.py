#!/usr/bin/env python3
"""Regenerates broker/src/acl/commands.txt from a real redis-server.

ACL rules name any Redis command or category (`+get`, `-@dangerous`), and an
operator's existing aclfile must load unchanged, so respub knows every
command of Redis 7 with its ACL categories, not only the ones it runs.
This script asks a running redis-server for `COMMAND` and writes one line
per command and subcommand: the full name, then its categories. CLIENT
SETINFO and CLIENT NO-TOUCH (7.2, missing from Debian's 7.0.15) are added
by hand.

Usage: python3 broker/tools/gen-acl-table.py --port 6379
"""
import argparse
import os
import socket


def read_value(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"-"):
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if kind in (b"*", b"~", b">"):
        return [read_value(f) for _ in range(int(rest))]
    if kind == b"%":
        return [read_value(f) for _ in range(2 * int(rest))]
    raise ValueError(line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=6379)
    args = ap.parse_args()
    sock = socket.create_connection(("127.0.0.1", args.port))
    f = sock.makefile("rb")
    sock.sendall(b"*1\r\n$7\r\nCOMMAND\r\n")
    entries = read_value(f)
    lines = []

    def add(entry):
        name, cats = entry[0], [c.lstrip("@") for c in entry[6]]
        lines.append(" ".join([name] + cats))
        for sub in entry[9] if len(entry) > 9 else []:
            add(sub)

    for entry in entries:
        add(entry)
    for added in ["client|setinfo slow connection", "client|no-touch slow connection"]:
        if not any(l.startswith(added.split()[0] + " ") for l in lines):
            lines.append(added)
    lines.sort()
    out = os.path.join(os.path.dirname(__file__), "..", "src", "acl", "commands.txt")
    with open(out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"{len(lines)} commands written to {out}")


if __name__ == "__main__":
    main()
