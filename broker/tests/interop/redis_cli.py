#!/usr/bin/env python3
"""Proves that redis-cli behaves the same against the server on --port as
against a real redis-server on --reference-port:
  (a) non-interactive `redis-cli SUBSCRIBE foo bar` (raw output on a pipe):
      confirmations, then a message published from a raw socket; the complete
      stdout must be byte-identical to the reference's;
  (b) interactive redis-cli under a pty (its start-up COMMAND DOCS, line
      editor with hints, PING, SUBSCRIBE, a published message, Ctrl-C, exit): the
      transcript as a terminal would show it must match the reference's.

usage: python3 redis_cli.py --port P --reference-port R
Needs redis-cli on PATH; standard library only.
"""
import argparse
import fcntl
import os
import re
import select
import socket
import struct
import subprocess
import sys
import termios
import time

TIMEOUT = 10.0  # seconds per wait; a failure guard, never used to synchronise


class Checker:
    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, 0

    def check(self, label, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {label}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {label}" + (f": {detail}" if detail else ""), flush=True)

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(0 if self.failed == 0 and self.passed > 0 else 1)


class Reader:
    """Accumulates everything readable from fd; wait() blocks on select()
    until the accumulated bytes satisfy a predicate, EOF, or TIMEOUT."""

    def __init__(self, fd):
        self.fd, self.data, self.eof = fd, b"", False

    def wait(self, label, predicate):
        deadline = time.monotonic() + TIMEOUT
        while not predicate(self.data):
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                why = "EOF" if self.eof else f"timed out after {TIMEOUT}s"
                raise AssertionError(f"{why} waiting for {label}; output so far: {self.data!r}")
            if select.select([self.fd], [], [], left)[0]:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # EIO: the pty's other side is gone
                    chunk = b""
                self.eof = not chunk
                self.data += chunk
        return self.data


def publish(port, channel, payload):
    """PUBLISH from a fresh raw-socket connection; returns the raw reply."""
    args = [b"PUBLISH", channel, payload]
    cmd = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(cmd)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(TIMEOUT)


def non_interactive(check, who, port):
    """(a) Returns redis-cli's complete stdout, or None on failure."""
    proc = subprocess.Popen(["redis-cli", "-p", str(port), "SUBSCRIBE", "foo", "bar"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = Reader(proc.stdout.fileno())
    try:
        lines = lambda n: lambda d: d.count(b"\n") >= n  # noqa: E731
        out.wait("6 confirmation lines", lines(6))
        check.check(f"{who} (a) SUBSCRIBE foo bar confirmations",
                    out.data == b"subscribe\nfoo\n1\nsubscribe\nbar\n2\n", repr(out.data))
        reply = publish(port, b"foo", b"hello")
        check.check(f"{who} (a) PUBLISH foo hello -> 1", reply == b":1\r\n", repr(reply))
        out.wait("3 message lines", lines(9))
        check.check(f"{who} (a) message foo hello printed",
                    out.data.endswith(b"message\nfoo\nhello\n"), repr(out.data))
        return out.data
    except AssertionError as e:
        check.check(f"{who} (a) redis-cli SUBSCRIBE", False, str(e))
        return None
    finally:
        stop(proc)


# CSI sequences (colours, cursor moves, erase) that linenoise writes.
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def screen_text(raw, port):
    """What a terminal would finally show: linenoise redraws the line (prompt,
    buffer, grey hint) after every key, each redraw starting with CR, so keep
    the last non-empty CR-separated segment of each line; drop ANSI and the port."""
    lines = []
    for line in ANSI.sub(b"", raw).split(b"\n"):
        segments = [s for s in line.split(b"\r") if s.strip()]
        lines.append(segments[-1].rstrip() if segments else b"")
    return b"\n".join(lines).decode(errors="replace").replace(str(port), "PORT")


def interactive(check, who, port):
    """(b) Returns the normalised transcript, or None on failure."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    # New session with the pty as controlling terminal, so Ctrl-C raises SIGINT.
    proc = subprocess.Popen(["redis-cli", "-p", str(port)], stdin=slave, stdout=slave, stderr=slave,
                            env=dict(os.environ, TERM="xterm"), start_new_session=True,
                            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    term = Reader(master)

    def type_and_wait(keys, label, regex):
        """Type keys, then wait until the screen text shown since then
        (normalised, trailing blanks dropped) matches regex."""
        since = len(term.data)
        os.write(master, keys)
        term.wait(label, lambda d: re.search(regex, screen_text(d[since:], port).rstrip(), re.S))

    try:
        term.wait("prompt (after COMMAND DOCS)", lambda d: f"127.0.0.1:{port}> ".encode() in d)
        check.check(f"{who} (b) prompt shown", True)
        type_and_wait(b"PING\r", "PONG and the next prompt", r"> PING\nPONG\n127\.0\.0\.1:PORT>$")
        check.check(f"{who} (b) PING -> PONG", True)
        type_and_wait(b"SUBSCRIBE ch1\r", "subscribe confirmation", re.escape(
            'Reading messages... (press Ctrl-C to quit)\n1) "subscribe"\n2) "ch1"\n3) (integer) 1') + "$")
        check.check(f"{who} (b) SUBSCRIBE ch1 confirmed", True)
        since = len(term.data)
        reply = publish(port, b"ch1", b"hi")
        check.check(f"{who} (b) PUBLISH ch1 hi -> 1", reply == b":1\r\n", repr(reply))
        term.wait("message hi", lambda d: b'3) "hi"\r\n' in d[since:])
        check.check(f"{who} (b) message hi shown", True)
        type_and_wait(b"\x03", "prompt after Ctrl-C", r"^(\^C)?127\.0\.0\.1:PORT>$")
        check.check(f"{who} (b) Ctrl-C returns to the prompt", True)
        # redis-cli 7.0 dropped the subscribed connection on Ctrl-C; this PING
        # goes over a new one (other versions may differ: the comparison judges).
        type_and_wait(b"PING\r", "reply to PING after Ctrl-C", r"> PING\n.+\n127\.0\.0\.1:PORT>$")
        check.check(f"{who} (b) PING after Ctrl-C answered", True)
        os.write(master, b"exit\r")
        term.wait("EOF after exit", lambda d: term.eof)
        check.check(f"{who} (b) exit ends redis-cli with status 0", proc.wait(TIMEOUT) == 0)
        return screen_text(term.data, port)
    except AssertionError as e:
        check.check(f"{who} (b) interactive redis-cli", False, str(e))
        return None
    finally:
        stop(proc)
        os.close(master)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True, help="server under test")
    ap.add_argument("--reference-port", type=int, required=True, help="a real redis-server")
    args = ap.parse_args()
    check = Checker("redis-cli")
    # One server at a time, so each PUBLISH has exactly one receiver even if
    # both ports lead to the same server.
    a_test = non_interactive(check, "respub", args.port)
    a_ref = non_interactive(check, "reference", args.reference_port)
    check.check("(a) stdout identical to redis-server's", a_test is not None and a_test == a_ref,
                f"respub {a_test!r} vs reference {a_ref!r}")
    b_test = interactive(check, "respub", args.port)
    b_ref = interactive(check, "reference", args.reference_port)
    check.check("(b) transcript identical to redis-server's", b_test is not None and b_test == b_ref,
                f"respub {b_test!r} vs reference {b_ref!r}")
    if b_ref is not None:
        print("reference transcript:\n  " + b_ref.replace("\n", "\n  "))
    check.finish()


if __name__ == "__main__":
    main()
