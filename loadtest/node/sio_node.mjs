// The Node Socket.IO node that `respub-loadtest socketio --stack node-redis` starts:
// socket.io 4.8 with @socket.io/redis-adapter 8.3 (classic createAdapter) over node-redis.
//
//   node sio_node.mjs --redis redis://127.0.0.1:6379 [--ack-timeout 10000] [--port 0]
//
// Same event contract as the Rust node (loadtest/src/socketio/server.rs):
//
//   join (room) + ack        -> socket joins room; ack "ok"
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
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const { values: opts } = parseArgs({
  options: {
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    "ack-timeout": { type: "string", default: "10000" },
    port: { type: "string", default: "0" },
  },
});
const ackTimeout = Number(opts["ack-timeout"]);

const pub = createClient({ url: opts.redis });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on("error", (e) => console.error("redis error", e.message));
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub) });

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
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

// The adapter sends its PSUBSCRIBE and SUBSCRIBE on `sub` without waiting for them. The
// broker answers one connection's commands in order, so once a later SUBSCRIBE on the
// same connection is confirmed, the adapter's are in force too.
const barrier = `sio-node-barrier-${process.pid}`;
await sub.subscribe(barrier, () => {});
await sub.unsubscribe(barrier);

httpServer.listen(Number(opts.port), "127.0.0.1", () => {
  console.log(`READY ${httpServer.address().port}`);
});

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
