#!/usr/bin/env python3
"""Regenerates broker/src/cmd/commands.{info,docs}.resp from a real redis-server.

COMMAND INFO and COMMAND DOCS must describe respub's commands exactly as
redis-server describes them, so their bytes are taken from a running Redis
7.x rather than retyped: this script asks it (in RESP3), keeps only the
commands and subcommands respub implements, adds CLIENT SETINFO and CLIENT
NO-TOUCH (which Debian's 7.0.15 lacks; their 7.2 entries are written out
below) and writes the
result as RESP3, which the broker parses once at start-up.

Usage: python3 broker/tools/gen-command-table.py --port 6379
Only needed when respub gains a command; the broker never needs Redis.
"""
import argparse
import os
import socket

COMMANDS = ["publish", "spublish", "subscribe", "unsubscribe", "psubscribe", "punsubscribe",
            "ssubscribe", "sunsubscribe", "pubsub", "ping", "echo", "select", "quit", "reset",
            "hello", "auth", "client", "info", "time", "command", "config", "shutdown", "monitor",
            "acl", "slowlog", "latency", "multi", "exec", "discard", "watch", "unwatch", "replconf", "psync", "sync", "role", "replicaof", "slaveof", "wait", "failover"]
SUBCOMMANDS = {
    "client": ["id", "setname", "getname", "setinfo", "info", "list", "kill", "help", "reply",
               "no-evict", "no-touch", "pause", "unpause"],
    "command": ["count", "list", "info", "docs", "help"],
    "config": ["get", "set", "resetstat", "rewrite", "help"],
    "slowlog": ["get", "len", "reset", "help"],
    "latency": ["latest", "history", "reset", "doctor", "graph", "histogram", "help"],
    "pubsub": ["channels", "numsub", "numpat", "shardchannels", "shardnumsub", "help"],
    "acl": ["cat", "deluser", "dryrun", "genpass", "getuser", "help", "list", "load", "log", "save",
            "setuser", "users", "whoami"],
}


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            self.buf += self.sock.recv(65536)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def value(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return ("simple" if kind == b"+" else "error", rest)
        if kind == b":":
            return ("int", int(rest))
        if kind == b"$":
            return ("bulk", self.exact(int(rest)))
        if kind == b"_":
            return ("null", None)
        if kind in (b"*", b"~", b">"):
            name = {b"*": "array", b"~": "set", b">": "push"}[kind]
            return (name, [self.value() for _ in range(int(rest))])
        if kind == b"%":
            return ("map", [(self.value(), self.value()) for _ in range(int(rest))])
        raise ValueError(line)


def encode(v):
    kind, body = v
    if kind == "simple":
        return b"+" + body + b"\r\n"
    if kind == "int":
        return b":%d\r\n" % body
    if kind == "bulk":
        return b"$%d\r\n%s\r\n" % (len(body), body)
    if kind == "null":
        return b"_\r\n"
    if kind in ("array", "set"):
        return (b"*" if kind == "array" else b"~") + b"%d\r\n" % len(body) + b"".join(map(encode, body))
    if kind == "map":
        return b"%%%d\r\n" % len(body) + b"".join(encode(k) + encode(x) for k, x in body)
    raise ValueError(kind)


def call(sock, reader, *args):
    sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in map(str.encode, args)))
    return reader.value()


def B(s):
    return ("bulk", s.encode())


SETINFO_INFO = ("array", [B("client|setinfo"), ("int", 4),
                          ("set", [("simple", b"noscript"), ("simple", b"loading"), ("simple", b"stale")]),
                          ("int", 0), ("int", 0), ("int", 0),
                          ("set", [("simple", b"@slow"), ("simple", b"@connection")]),
                          ("set", [("simple", b"request_policy:all_nodes"), ("simple", b"response_policy:all_succeeded")]),
                          ("set", []), ("set", [])])
SETINFO_DOCS = ("map", [
    (B("summary"), B("Sets information specific to the client or connection.")),
    (B("since"), B("7.2.0")), (B("group"), B("connection")), (B("complexity"), B("O(1)")),
    (B("arguments"), ("array", [("map", [
        (B("name"), B("attr")), (B("type"), B("oneof")),
        (B("arguments"), ("array", [
            ("map", [(B("name"), B("libname")), (B("type"), B("string")), (B("token"), B("LIB-NAME"))]),
            ("map", [(B("name"), B("libver")), (B("type"), B("string")), (B("token"), B("LIB-VER"))]),
        ]))])]))])

NO_TOUCH_INFO = ("array", [B("client|no-touch"), ("int", 3),
                           ("set", [("simple", b"noscript"), ("simple", b"loading"), ("simple", b"stale")]),
                           ("int", 0), ("int", 0), ("int", 0),
                           ("set", [("simple", b"@slow"), ("simple", b"@connection")]),
                           ("set", []), ("set", []), ("set", [])])
NO_TOUCH_DOCS = ("map", [
    (B("summary"), B("Controls whether commands sent by the client affect the LRU/LFU of accessed keys.")),
    (B("since"), B("7.2.0")), (B("group"), B("connection")), (B("complexity"), B("O(1)")),
    (B("arguments"), ("array", [("map", [
        (B("name"), B("enabled")), (B("type"), B("oneof")),
        (B("arguments"), ("array", [
            ("map", [(B("name"), B("on")), (B("type"), B("pure-token")), (B("token"), B("ON"))]),
            ("map", [(B("name"), B("off")), (B("type"), B("pure-token")), (B("token"), B("OFF"))]),
        ]))])]))])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=6379)
    args = ap.parse_args()
    sock = socket.create_connection(("127.0.0.1", args.port))
    reader = Reader(sock)
    call(sock, reader, "HELLO", "3")
    infos, docs = [], []
    for name in COMMANDS:
        (_, [info]) = call(sock, reader, "COMMAND", "INFO", name)
        (_, [(_, doc)]) = call(sock, reader, "COMMAND", "DOCS", name)
        keep = SUBCOMMANDS.get(name)
        if keep is not None:
            subs = [s for s in info[1][9][1] if s[1][0][1].decode().split("|")[1] in keep]
            if name == "client":
                subs += [SETINFO_INFO, NO_TOUCH_INFO]
            subs.sort(key=lambda s: keep.index(s[1][0][1].decode().split("|")[1]))
            info[1][9] = ("set", subs) if info[1][9][0] == "set" else ("array", subs)
            fields = doc[1]
            for i, (k, v) in enumerate(fields):
                if k[1] == b"subcommands":
                    entries = [(k2, v2) for k2, v2 in v[1] if k2[1].decode().split("|")[1] in keep]
                    if name == "client":
                        entries += [(B("client|setinfo"), SETINFO_DOCS), (B("client|no-touch"), NO_TOUCH_DOCS)]
                    entries.sort(key=lambda e: keep.index(e[0][1].decode().split("|")[1]))
                    fields[i] = (k, ("map", entries))
        infos.append(info)
        docs.append((B(name), doc))
    out = os.path.join(os.path.dirname(__file__), "..", "src", "cmd")
    with open(os.path.join(out, "commands.info.resp"), "wb") as f:
        f.write(encode(("array", infos)))
    with open(os.path.join(out, "commands.docs.resp"), "wb") as f:
        f.write(encode(("map", docs)))


if __name__ == "__main__":
    main()
