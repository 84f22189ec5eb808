"""A subscriber and a publisher that find the master through Redis Sentinel
with redis-py (`Sentinel([...]).master_for(name)`, `pubsub()`), for
tests/sentinel_clients.rs, with the library's defaults otherwise.

stdout, one line each: `READY` once subscribed, `MESSAGE <payload>` for every
message on the channel, `PUBLISHED <payload> <receivers>` or
`PUBLISH-FAILED <payload> <error>` for each `PUBLISH <payload>` line read
from stdin, and `EVENT <ms since start> <what>` for errors the subscriber
loop saw (the test prints them).

usage: sentinel_client.py --sentinels P1,P2,P3 --channel C
"""

import argparse
import sys
import threading
import time

from redis.sentinel import Sentinel

STARTED = time.monotonic()
OUT = threading.Lock()


def say(line):
    with OUT:
        print(line, flush=True)


def event(what):
    say(f"EVENT {int((time.monotonic() - STARTED) * 1000)} {what}")


def serve_publishes(publisher, channel):
    for line in sys.stdin:
        payload = line.rstrip("\n").removeprefix("PUBLISH ")
        try:
            say(f"PUBLISHED {payload} {publisher.publish(channel, payload)}")
        except Exception as err:  # any failure is reported, and the test retries
            say(f"PUBLISH-FAILED {payload} {err!r}")


def receive(pubsub):
    while True:
        try:
            message = pubsub.get_message(timeout=1)
        except Exception as err:
            # redis-py's PubSub reconnects (asking the sentinels again) and
            # resubscribes on the next call; the loop only has to go on.
            event(f"subscriber error {err!r}")
            # redis-py raises at once while no master is reachable.
            time.sleep(0.1)
            continue
        if message is None:
            continue
        if message["type"] == "message":
            say(f"MESSAGE {message['data']}")
        else:
            event(f"subscriber {message['type']} {message['channel']}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentinels", required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--name", default="mymaster")
    args = parser.parse_args()
    nodes = [("127.0.0.1", int(p)) for p in args.sentinels.split(",") if p]
    sentinel = Sentinel(nodes, socket_timeout=5)
    subscriber = sentinel.master_for(args.name, decode_responses=True)
    publisher = sentinel.master_for(args.name, decode_responses=True)
    pubsub = subscriber.pubsub()
    pubsub.subscribe(args.channel)
    # SUBSCRIBE's confirmation, so that READY means subscribed.
    while (pubsub.get_message(timeout=5) or {}).get("type") != "subscribe":
        pass
    say("READY")
    threading.Thread(target=receive, args=(pubsub,), daemon=True).start()
    # The test closes stdin when it is done, which ends the process.
    serve_publishes(publisher, args.channel)


if __name__ == "__main__":
    main()
