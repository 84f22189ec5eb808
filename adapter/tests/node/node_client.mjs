// Many socket.io-client 4.8 clients in one process, driven by JSON lines on stdin, for
// respub-socketio's interop tests. Every line out is JSON too.
//
//   in:  {"op":"connect","name":"c1","url":"http://127.0.0.1:3000"}
//   out: {"ev":"connected","name":"c1","id":"<socket id>"}
//   in:  {"op":"call","name":"c1","seq":7,"event":"join","arg":"room"}
//   out: {"ev":"reply","name":"c1","seq":7,"data":<the ack's argument>}
//   in:  {"op":"emit","name":"c1","event":"chat","arg":{...}}        (no ack)
//   in:  {"op":"close","name":"c1"}
//   in:  {"op":"transport","name":"c1","seq":8}
//   out: {"ev":"reply","name":"c1","seq":8,"data":"websocket"}   (the engine's transport now)
//   out: {"ev":"event","name":"c1","event":"hello","args":[...]}   (every event received)
//   out: {"ev":"disconnect","name":"c1","reason":"io server disconnect"}
//
// Binary arguments are reported as {"$bin":[...bytes]}.
// An `ask` event with an ack is answered with the client's name (and not reported).
//
// `options` go to io() as they are (transports, reconnection, withCredentials...), except
// `localAddress`: the client's connections (polling requests and the WebSocket) leave from
// that address, through an http.Agent of their own, so a balancer hashing the source
// address sees one client per address; and `rejoin` (a list of rooms): after each
// reconnection the client joins them itself, as an application would, and reports it as
//   out: {"ev":"event","name":"c1","event":"rejoined","args":["room","ok"]}
import { Agent } from "node:http";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const clients = new Map();
// Binary arguments are reported as {"$bin": [bytes...]}.
const plain = (v) => {
  if (v instanceof ArrayBuffer) return { $bin: [...new Uint8Array(v)] };
  if (ArrayBuffer.isView(v)) return { $bin: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
};
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function handle(cmd) {
  const { op, name } = cmd;
  if (op === "connect") {
    const { localAddress, rejoin = [], ...options } = cmd.options ?? {};
    if (localAddress) Object.assign(options, { agent: new Agent({ localAddress }), localAddress });
    const socket = io(cmd.url, { reconnection: false, forceNew: true, ...options });
    clients.set(name, socket);
    let connects = 0;
    socket.on("connect", () => {
      out({ ev: "connected", name, id: socket.id });
      if (connects++ === 0) return;
      for (const room of rejoin) {
        socket.emit("join", room, (r) => out({ ev: "event", name, event: "rejoined", args: [room, r] }));
      }
    });
    socket.on("connect_error", (e) => out({ ev: "connect_error", name, message: e.message }));
    socket.on("disconnect", (reason) => out({ ev: "disconnect", name, reason }));
    socket.on("ask", (...args) => {
      const ack = args.at(-1);
      if (typeof ack === "function") ack(name);
    });
    socket.onAny((event, ...args) => {
      if (event === "ask") return;
      if (typeof args.at(-1) === "function") args.pop()(name);
      out({ ev: "event", name, event, args: plain(args) });
    });
  } else if (op === "call") {
    const socket = clients.get(name);
    if (!socket) return out({ ev: "error", message: `no client ${name}` });
    socket.emit(cmd.event, cmd.arg, (data) => out({ ev: "reply", name, seq: cmd.seq, data }));
  } else if (op === "emit") {
    const socket = clients.get(name);
    if (!socket) return out({ ev: "error", message: `no client ${name}` });
    socket.emit(cmd.event, cmd.arg);
  } else if (op === "transport") {
    const socket = clients.get(name);
    if (!socket) return out({ ev: "error", message: `no client ${name}` });
    out({ ev: "reply", name, seq: cmd.seq, data: socket.io.engine?.transport?.name ?? null });
  } else if (op === "close") {
    clients.get(name)?.close();
    clients.delete(name);
  } else {
    out({ ev: "error", message: `unknown op ${op}` });
  }
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  try {
    handle(JSON.parse(line));
  } catch (e) {
    out({ ev: "error", message: String(e) });
  }
});
rl.on("close", () => {
  for (const s of clients.values()) s.close();
  process.exit(0);
});
