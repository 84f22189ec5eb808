// The Node Socket.IO node that `respub-loadtest socketio` starts for its Node stacks:
// socket.io 4.8 with @socket.io/redis-adapter 8.3 over node-redis or ioredis, classic
// (createAdapter) or sharded (createShardedAdapter).
//
//   node sio_node.mjs --redis redis://127.0.0.1:6379 [--ack-timeout 10000] [--port 0]
//       [--client node-redis|ioredis] [--mode classic|static|dynamic|dynamic-private]
//
// Same event contract as the Rust node (loadtest/src/socketio/server.rs):
//
//   join (room) + ack        -> socket joins room; ack "ok" (once subscribed, sharded dynamic)
//   leave (room) + ack       -> socket leaves room; ack "ok"
//   emit (room, payload)     -> io.to(room).emit("m", payload)
//   broadcast (payload)      -> io.emit("m", payload)
//   ackcast (payload) + ack  -> io.timeout(T).emit("q", payload) with acks;
//                               ack the number of answers
//
// Prints `READY <port>` once the adapter's subscriptions are confirmed by the broker and
// the HTTP server listens on 127.0.0.1 (--port, or a free port when 0). Exits when its stdin closes, which
// is also what happens when the load tester dies.
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";

const { values: opts } = parseArgs({
  options: {
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    "ack-timeout": { type: "string", default: "10000" },
    client: { type: "string", default: "node-redis" },
    mode: { type: "string", default: "classic" },
    port: { type: "string", default: "0" },
  },
});
const ackTimeout = Number(opts["ack-timeout"]);
const sharded = opts.mode !== "classic";
if (!["classic", "static", "dynamic", "dynamic-private"].includes(opts.mode)) {
  console.error(`sio_node: unknown --mode ${opts.mode}`);
  process.exit(2);
}

// Both clients send the adapter's (S)SUBSCRIBEs on `sub` without waiting for them. The
// broker answers one connection's commands in order, so once a later (S)SUBSCRIBE on the
// same connection is confirmed, the adapter's are in force too: `barrier` is that.
let pub, sub, barrier;
let barrierSeq = 0;
const barrierChannel = () => `sio-node-barrier-${process.pid}-${barrierSeq++}`;
if (opts.client === "node-redis") {
  const { createClient } = await import("redis");
  pub = createClient({ url: opts.redis });
  sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => console.error("redis error", e.message));
  await Promise.all([pub.connect(), sub.connect()]);
  barrier = async () => {
    const ch = barrierChannel();
    if (sharded) {
      await sub.sSubscribe(ch, () => {});
      await sub.sUnsubscribe(ch);
    } else {
      await sub.subscribe(ch, () => {});
      await sub.unsubscribe(ch);
    }
  };
} else if (opts.client === "ioredis") {
  const { Redis } = await import("ioredis");
  pub = new Redis(opts.redis);
  sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => console.error("redis error", e.message));
  await Promise.all([pub, sub].map((c) => new Promise((r) => c.once("ready", r))));
  barrier = async () => {
    const ch = barrierChannel();
    if (sharded) {
      await sub.ssubscribe(ch);
      await sub.sunsubscribe(ch);
    } else {
      await sub.subscribe(ch);
      await sub.unsubscribe(ch);
    }
  };
} else {
  console.error(`sio_node: unknown --client ${opts.client}`);
  process.exit(2);
}

const adapter = sharded
  ? createShardedAdapter(pub, sub, { subscriptionMode: opts.mode })
  : createAdapter(pub, sub);
const httpServer = createServer();
const io = new Server(httpServer, { adapter });
// Only the dynamic modes subscribe a channel when a room is created.
const joinBarrier = opts.mode.startsWith("dynamic") ? barrier : async () => {};

io.on("connection", (socket) => {
  socket.on("join", async (room, ack) => {
    socket.join(room);
    await joinBarrier();
    ack("ok");
  });
  socket.on("leave", (room, ack) => {
    socket.leave(room);
    ack("ok");
  });
  socket.on("emit", (room, payload) => {
    io.to(room).emit("m", payload);
  });
  socket.on("broadcast", (payload) => {
    io.emit("m", payload);
  });
  socket.on("ackcast", (payload, ack) => {
    // On a timeout the callback still gets the answers that did arrive.
    io.timeout(ackTimeout).emit("q", payload, (_err, answers) => ack(answers ? answers.length : 0));
  });
});

// The adapter of "/" is created with the server; make sure its subscriptions are in.
await barrier();

httpServer.listen(Number(opts.port), "127.0.0.1", () => {
  console.log(`READY ${httpServer.address().port}`);
});

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
