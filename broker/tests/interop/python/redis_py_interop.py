#!/usr/bin/env python3
"""Proves that redis-py (RESP2 or RESP3, default connect handshake) can do
pub/sub against the server on --port: subscribe/psubscribe confirmations and
counts, PING (with and without argument) while subscribed, redis-py's own
health-check PINGs on the subscribed connection, PUBSUB NUMSUB/NUMPAT, PUBLISH
receiver counts, message/pmessage delivery of text and binary payloads in
order, UNSUBSCRIBE of one channel, bare PUNSUBSCRIBE and bare UNSUBSCRIBE.

usage: python3 redis_py_interop.py --port P --protocol 2|3
"""
import argparse
import sys
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

TIMEOUT = 10.0  # seconds; a failure guard, never used to synchronise
# Valid UTF-8 with CR LF, NUL and a 4-byte code point.
UNICODE = "héllo wörld ✓ 🚀 \r\n\0 end".encode()
# Not valid UTF-8, and shaped like RESP so a broker that re-parses payloads breaks.
BINARY = (bytes([0x00, 0xFF, 0xFE, 0x80, 0x0D, 0x0A]) + b"*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n"
          + bytes([0xC3, 0x28, 0x00]))


class Checker:
    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, 0

    def passes(self, label):
        self.passed += 1
        print(f"ok   {label}", flush=True)

    def fail(self, label, detail=""):
        self.failed += 1
        print(f"FAIL {label}" + (f": {detail}" if detail else ""), flush=True)

    def eq(self, label, actual, expected):
        if actual == expected:
            self.passes(label)
        else:
            self.fail(label, f"got {actual!r}, expected {expected!r}")

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(0 if self.failed == 0 and self.passed > 0 else 1)


def next_message(p, label):
    """Next pub/sub message as (type, pattern, channel, data), within TIMEOUT.

    get_message() also returns None when it only consumed a health-check reply,
    so loop until a real message arrives or the deadline passes."""
    deadline = time.monotonic() + TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        m = p.get_message(timeout=min(left, 1.0))
        if m is not None:
            return (m["type"], m["pattern"], m["channel"], m["data"])
    raise TimeoutError(f"no pub/sub message within {TIMEOUT}s: {label}")


def scenario(check, port, protocol):
    # No retries: a broken server should fail the run, not be retried for minutes.
    common = dict(host="127.0.0.1", port=port, protocol=protocol, retry=Retry(NoBackoff(), 0),
                  socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    pub = redis.Redis(**common)
    # A tiny health_check_interval makes redis-py send its health check
    # (PING redis-py-health-check) from almost every get_message() call; the
    # reply must be recognised and swallowed, else it shows up as a message.
    sub = redis.Redis(health_check_interval=1e-6, **common)
    clients = [pub, sub]
    try:
        check.eq("publisher PING", pub.ping(), True)
        p = sub.pubsub()
        clients.append(p)

        p.subscribe("interop:a", "interop:b")
        p.psubscribe("interop:p*")
        check.eq("subscribe interop:a", next_message(p, "subscribe a"), ("subscribe", None, b"interop:a", 1))
        check.eq("subscribe interop:b", next_message(p, "subscribe b"), ("subscribe", None, b"interop:b", 2))
        check.eq("psubscribe interop:p*", next_message(p, "psubscribe"), ("psubscribe", None, b"interop:p*", 3))

        p.ping()
        check.eq("PING while subscribed", next_message(p, "ping"), ("pong", None, None, b""))
        p.ping("hi")
        check.eq("PING hi while subscribed", next_message(p, "ping hi"), ("pong", None, None, b"hi"))

        check.eq("PUBSUB NUMSUB a b zzz", pub.pubsub_numsub("interop:a", "interop:b", "interop:zzz"),
                 [(b"interop:a", 1), (b"interop:b", 1), (b"interop:zzz", 0)])
        check.eq("PUBSUB NUMPAT", pub.pubsub_numpat(), 1)

        publishes = [
            (b"interop:a", b"hello a", ("message", None, b"interop:a", b"hello a")),
            (b"interop:b", b"hello b", ("message", None, b"interop:b", b"hello b")),
            (b"interop:p1", b"hello p1", ("pmessage", b"interop:p*", b"interop:p1", b"hello p1")),
            (b"interop:p2", UNICODE, ("pmessage", b"interop:p*", b"interop:p2", UNICODE)),
            (b"interop:a", BINARY, ("message", None, b"interop:a", BINARY)),
        ]
        for channel, payload, expected in publishes:
            what = f"{channel.decode()} {'<binary>' if payload is BINARY else repr(payload.decode())}"
            check.eq(f"PUBLISH {what} -> 1", pub.publish(channel, payload), 1)
            check.eq(f"received {what}", next_message(p, what), expected)

        p.unsubscribe("interop:a")
        check.eq("unsubscribe interop:a", next_message(p, "unsubscribe a"),
                 ("unsubscribe", None, b"interop:a", 2))
        p.punsubscribe()  # bare: all patterns
        check.eq("punsubscribe (all)", next_message(p, "punsubscribe"),
                 ("punsubscribe", None, b"interop:p*", 1))

        check.eq("PUBSUB NUMSUB a b after unsubscribe", pub.pubsub_numsub("interop:a", "interop:b"),
                 [(b"interop:a", 0), (b"interop:b", 1)])
        check.eq("PUBSUB NUMPAT after punsubscribe", pub.pubsub_numpat(), 0)
        check.eq("PUBLISH interop:a -> 0", pub.publish("interop:a", "gone"), 0)
        check.eq("PUBLISH interop:p1 -> 0", pub.publish("interop:p1", "gone"), 0)
        check.eq("PUBLISH interop:b -> 1", pub.publish("interop:b", "still here"), 1)
        # Same connection, so order is kept: anything from interop:a/p1 would come first.
        check.eq('next message is interop:b "still here"', next_message(p, "still here"),
                 ("message", None, b"interop:b", b"still here"))

        p.unsubscribe()  # bare: all channels
        check.eq("unsubscribe (all)", next_message(p, "unsubscribe all"),
                 ("unsubscribe", None, b"interop:b", 0))
        check.eq("PUBSUB NUMSUB b after unsubscribe all", pub.pubsub_numsub("interop:b"), [(b"interop:b", 0)])
    finally:
        for client in clients:
            client.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--protocol", type=int, choices=(2, 3), required=True)
    args = ap.parse_args()
    check = Checker(f"redis-py-resp{args.protocol}")
    try:
        scenario(check, args.port, args.protocol)
    except Exception as e:  # noqa: BLE001 - any error fails the run
        check.fail("scenario aborted", f"{type(e).__name__}: {e}")
    check.finish()


if __name__ == "__main__":
    main()
