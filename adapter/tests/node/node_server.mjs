// A Node Socket.IO cluster node for respub-socketio's interop tests.
//
//   node node_server.mjs --port 0 --redis redis://127.0.0.1:6379 \
//       [--client node-redis|ioredis] [--mode classic|static|dynamic|dynamic-private] \
//       [--prefix socket.io] [--timeout 5000] [--specific]
//
// --specific: classic mode's publishOnSpecificResponseChannel.
// --redis also takes fred's Sentinel form with --client ioredis:
//   redis-sentinel://HOST:PORT/0?sentinelServiceName=NAME&node=HOST:PORT&node=HOST:PORT
// (every address a sentinel), given to ioredis as {sentinels, name, db}.
//
// Prints `READY <port> <adapter uid>` on stdout once the adapter is subscribed and the HTTP
// server listens. Clients drive it with the event contract below (every handler answers
// through the client's ack); the Rust test node (tests/node_interop.rs) implements the
// same contract, so one test body can run with either node as the origin.
//
//   join (room)                      -> the socket joins room; "ok" once subscribed
//   leave (room)                     -> the socket leaves room; "ok"
//   sync ()                          -> "ok" once the adapter's pending subscriptions are in
//   broadcast ({rooms, except, event, data, binary}) -> io.to(rooms).except(except)
//                                    .emit(event, data) (binary: data's UTF-8 bytes); "ok"
//   broadcastAck ({rooms, event, timeout})   -> io.to(rooms).timeout(t).emitWithAck;
//                                               sorted answers (or {error})
//   fetch ({rooms})                  -> sorted [{id, rooms (sorted)}] across the cluster
//   emitTo ({rooms, event, data})    -> fetchSockets(rooms), then socket.emit on each; count
//   remoteJoin ({rooms, room, via})  -> io.in(rooms).socketsJoin(room); "ok"
//   remoteLeave ({rooms, room, via}) -> io.in(rooms).socketsLeave(room); "ok"
//   remoteDisconnect ({rooms, via})  -> io.in(rooms).disconnectSockets(true); "ok"
//                                       (via "fetch": on each fetched socket instead)
//   serverCount ()                   -> the adapter's server count
//   allRooms ()                      -> sorted rooms of the cluster (classic adapter only)
//   whoami ()                        -> {id, node: "node"}
//   serverSideEmit ({event, args, binary}) -> io.serverSideEmit(event, ...args); "ok"
//                                       (binary: a last argument, the string's UTF-8 bytes)
//   serverSideEmitWithAck ({event, args}) -> io.serverSideEmitWithAck(event, ...args):
//                                       the answers sorted by their JSON (or {error})
//
// Server-side events it handles (from any other server of the cluster):
//
//   node-info (ack)                  -> answers {node: <its port>}, as the chat example
//   echo (...args[, ack])            -> emits "serverSide" {event: "echo", args, ack: bool}
//                                       to its own clients; answers {node: "node", port, args}
//   relay (...args)                  -> emits "relayed" with the same arguments to its own
//                                       clients (the emitter tests' serverSideEmit)
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    client: { type: "string", default: "node-redis" },
    mode: { type: "string", default: "classic" },
    prefix: { type: "string", default: "socket.io" },
    timeout: { type: "string", default: "5000" },
    specific: { type: "boolean", default: false },
  },
});
const timeout = Number(opts.timeout);

function fail(msg) {
  console.error(`node_server: ${msg}`);
  process.exit(1);
}

// --- Redis clients -------------------------------------------------------------------
const sentinelUrl = opts.redis.startsWith("redis-sentinel://") ? new URL(opts.redis) : null;

// ioredis options for a Sentinel URL: every host:port is a sentinel.
function ioredisSentinelOptions(url) {
  const name = url.searchParams.get("sentinelServiceName");
  if (!name) fail("a redis-sentinel:// URL needs sentinelServiceName");
  const sentinels = [url.host, ...url.searchParams.getAll("node")].map((hp) => {
    const i = hp.lastIndexOf(":");
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
  });
  return { sentinels, name, db: Number(url.pathname.slice(1) || 0) };
}

let pub, sub, barrier;
let barrierSeq = 0;
if (opts.client === "node-redis") {
  if (sentinelUrl) fail("a redis-sentinel:// URL needs --client ioredis");
  const { createClient } = await import("redis");
  pub = createClient({ url: opts.redis });
  sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => console.error("redis error", e.message));
  await Promise.all([pub.connect(), sub.connect()]);
  // Commands on one connection are answered in order: once a later (S)SUBSCRIBE is
  // confirmed, the adapter's earlier fire-and-forget subscriptions are in too.
  barrier = async () => {
    const ch = `${opts.prefix}-barrier-${process.pid}-${barrierSeq++}`;
    if (opts.mode === "classic") {
      await sub.subscribe(ch, () => {});
      await sub.unsubscribe(ch);
    } else {
      await sub.sSubscribe(ch, () => {});
      await sub.sUnsubscribe(ch);
    }
  };
} else if (opts.client === "ioredis") {
  const { Redis } = await import("ioredis");
  pub = new Redis(sentinelUrl ? ioredisSentinelOptions(sentinelUrl) : opts.redis);
  sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => console.error("redis error", e.message));
  await Promise.all([
    new Promise((r) => pub.once("ready", r)),
    new Promise((r) => sub.once("ready", r)),
  ]);
  barrier = async () => {
    const ch = `${opts.prefix}-barrier-${process.pid}-${barrierSeq++}`;
    if (opts.mode === "classic") {
      await sub.subscribe(ch);
      await sub.unsubscribe(ch);
    } else {
      await sub.ssubscribe(ch);
      await sub.sunsubscribe(ch);
    }
  };
} else {
  fail(`unknown --client ${opts.client}`);
}

// --- Socket.IO server ----------------------------------------------------------------
const adapter =
  opts.mode === "classic"
    ? createAdapter(pub, sub, {
        key: opts.prefix,
        requestsTimeout: timeout,
        publishOnSpecificResponseChannel: opts.specific,
      })
    : createShardedAdapter(pub, sub, {
        channelPrefix: opts.prefix,
        subscriptionMode: opts.mode,
      });
if (!["classic", "static", "dynamic", "dynamic-private"].includes(opts.mode)) {
  fail(`unknown --mode ${opts.mode}`);
}

const httpServer = createServer();
const io = new Server(httpServer, { adapter });
const sorted = (a) => [...a].sort();
const sortedByJson = (a) =>
  a
    .map((x) => [JSON.stringify(x), x])
    .sort((p, q) => (p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : 0))
    .map((p) => p[1]);
const myPort = () => httpServer.address().port;

io.on("node-info", (ack) => {
  if (typeof ack === "function") ack({ node: myPort() });
});
io.on("echo", (...args) => {
  const ack = typeof args.at(-1) === "function" ? args.pop() : null;
  io.local.emit("serverSide", { event: "echo", args, ack: ack !== null });
  if (ack) ack({ node: "node", port: myPort(), args });
});

function target(rooms) {
  return rooms && rooms.length ? io.in(rooms) : io;
}

io.on("connection", (socket) => {
  const on = (event, handler) =>
    socket.on(event, async (arg, ack) => {
      try {
        ack(await handler(arg ?? {}));
      } catch (e) {
        ack({ error: String(e && e.message ? e.message : e) });
      }
    });
  on("join", async (room) => {
    socket.join(room);
    await barrier();
    return "ok";
  });
  on("leave", async (room) => {
    socket.leave(room);
    await barrier();
    return "ok";
  });
  on("sync", async () => {
    await barrier();
    return "ok";
  });
  on("broadcast", async ({ rooms = [], except = [], event, data, binary }) => {
    io.to(rooms).except(except).emit(event, binary ? Buffer.from(String(data)) : data);
    return "ok";
  });
  on("broadcastAck", async ({ rooms = [], event, timeout: t = 5000 }) => {
    const answers = await io.to(rooms).timeout(t).emitWithAck(event);
    return sorted(answers);
  });
  on("fetch", async ({ rooms = [] }) => {
    const sockets = await target(rooms).fetchSockets();
    return sockets
      .map((s) => ({ id: s.id, rooms: sorted(s.rooms) }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  });
  on("emitTo", async ({ rooms = [], event, data }) => {
    const sockets = await target(rooms).fetchSockets();
    for (const s of sockets) s.emit(event, data);
    return sockets.length;
  });
  // via "fetch": on each socket that fetchSockets returned, rather than on the operator.
  on("remoteJoin", async ({ rooms = [], room, via }) => {
    if (via === "fetch") for (const s of await target(rooms).fetchSockets()) s.join(room);
    else target(rooms).socketsJoin(room);
    return "ok";
  });
  on("remoteLeave", async ({ rooms = [], room, via }) => {
    if (via === "fetch") for (const s of await target(rooms).fetchSockets()) s.leave(room);
    else target(rooms).socketsLeave(room);
    return "ok";
  });
  on("remoteDisconnect", async ({ rooms = [], via }) => {
    if (via === "fetch") for (const s of await target(rooms).fetchSockets()) s.disconnect(true);
    else target(rooms).disconnectSockets(true);
    return "ok";
  });
  on("serverCount", async () => io.of("/").adapter.serverCount());
  on("allRooms", async () => sorted(await io.of("/").adapter.allRooms()));
  on("whoami", async () => ({ id: socket.id, node: "node" }));
  on("serverSideEmit", async ({ event, args = [], binary }) => {
    const extra = binary === undefined ? [] : [Buffer.from(String(binary))];
    io.serverSideEmit(event, ...args, ...extra);
    return "ok";
  });
  on("serverSideEmitWithAck", async ({ event, args = [] }) =>
    sortedByJson(await io.serverSideEmitWithAck(event, ...args)),
  );
});

io.on("relay", (...args) => io.local.emit("relayed", ...args));

// The adapter of "/" is created with the namespace; make sure its subscriptions are in.
io.of("/");
await barrier();
httpServer.listen(Number(opts.port), "127.0.0.1", () => {
  const { port } = httpServer.address();
  console.log(`READY ${port} ${io.of("/").adapter.uid}`);
});

const stop = async () => {
  io.close();
  try {
    await Promise.allSettled([pub.quit(), sub.quit()]);
  } finally {
    process.exit(0);
  }
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The test harness closes our stdin when it is done (or dies): leave with it.
process.stdin.on("end", stop);
process.stdin.resume();
