// Node's @socket.io/redis-emitter 5.1.0, driven by JSON lines on stdin, for
// respub-socketio's emitter tests (tests/emitter.rs).
//
//   node node_emitter.mjs --redis redis://127.0.0.1:6379 [--prefix socket.io]
//
// Prints `READY` once connected. Each line in is one operation:
//
//   {"seq":1, "op":"emit"|"socketsJoin"|"socketsLeave"|"disconnectSockets"|"serverSideEmit",
//    "nsp":"/admin", "to":[rooms], "in":[rooms], "except":[rooms], "volatile":true,
//    "compress":false,
//    "event":"ev", "args":[...], "rooms":[...], "close":true}
//
// Every key but seq and op is optional. In args, {"$bin":[bytes]} is a Buffer and
// {"$ab":[bytes]} an ArrayBuffer. Once the broker has taken the PUBLISH (a PING sent after
// it on the same connection is answered), prints {"seq":1,"done":true}, or
// {"seq":1,"error":"..."} when the emitter threw.
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createClient } from "redis";
import { Emitter } from "@socket.io/redis-emitter";

const { values: opts } = parseArgs({
  options: {
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    prefix: { type: "string", default: "socket.io" },
  },
});

const client = createClient({ url: opts.redis });
client.on("error", (e) => console.error("redis error", e.message));
await client.connect();
const emitter = new Emitter(client, { key: opts.prefix });

const revive = (v) => {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object") {
    if (Array.isArray(v.$bin)) return Buffer.from(v.$bin);
    if (Array.isArray(v.$ab)) return Uint8Array.from(v.$ab).buffer;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
};

// The emitter, or the operator its modifiers give, in the order Node code would chain them.
function target(cmd) {
  let t = cmd.nsp ? emitter.of(cmd.nsp) : emitter;
  if (cmd.to) t = t.to(cmd.to);
  if (cmd.in) t = t.in(cmd.in);
  if (cmd.except) t = t.except(cmd.except);
  if (cmd.volatile) t = t.volatile;
  if (cmd.compress !== undefined) t = t.compress(cmd.compress);
  return t;
}

function run(cmd) {
  const t = target(cmd);
  const args = revive(cmd.args ?? []);
  switch (cmd.op) {
    case "emit":
      return t.emit(cmd.event, ...args);
    case "socketsJoin":
      return t.socketsJoin(cmd.rooms);
    case "socketsLeave":
      return t.socketsLeave(cmd.rooms);
    case "disconnectSockets":
      return t.disconnectSockets(cmd.close);
    case "serverSideEmit":
      return t.serverSideEmit(cmd.event, ...args);
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const rl = createInterface({ input: process.stdin });
// One line at a time, so the publications keep the order of the lines.
let queue = Promise.resolve();
rl.on("line", (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    const cmd = JSON.parse(line);
    try {
      run(cmd);
    } catch (e) {
      return out({ seq: cmd.seq, error: String(e && e.message ? e.message : e) });
    }
    await client.ping();
    out({ seq: cmd.seq, done: true });
  });
});
rl.on("close", async () => {
  await queue;
  await client.quit();
  process.exit(0);
});
console.log("READY");
