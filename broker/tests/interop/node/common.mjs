// Shared helpers for the Node interop scripts: check bookkeeping, 10 s failure
// guards, an ordered inbox for received pub/sub messages, the payloads, and
// the run-close-exit tail every script ends with.
import { isDeepStrictEqual } from 'node:util';

export const TIMEOUT_MS = 10_000;

// Valid UTF-8 with CR LF, NUL and a 4-byte code point (goes through text APIs).
export const UNICODE = 'héllo wörld ✓ 🚀 \r\n\0 end';
// Not valid UTF-8, and shaped like RESP so a broker that re-parses payloads breaks.
export const BINARY = Buffer.concat([
  Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0d, 0x0a]),
  Buffer.from('*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n'),
  Buffer.from([0xc3, 0x28, 0x00]),
]);

export class Checker {
  constructor(name) {
    this.name = name;
    this.passed = 0;
    this.failed = 0;
  }

  pass(label) {
    this.passed++;
    console.log(`ok   ${label}`);
  }

  fail(label, detail) {
    this.failed++;
    console.log(`FAIL ${label}${detail ? `: ${detail}` : ''}`);
  }

  eq(label, actual, expected) {
    if (isDeepStrictEqual(actual, expected)) this.pass(label);
    else this.fail(label, `got ${show(actual)}, expected ${show(expected)}`);
  }

  finish() {
    console.log(`${this.name}: ${this.passed} passed, ${this.failed} failed`);
    process.exit(this.failed === 0 && this.passed > 0 ? 0 : 1);
  }
}

function show(v) {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
}

// Rejects if `promise` has not settled within TIMEOUT_MS (a failure guard only).
export function withTimeout(promise, label, ms = TIMEOUT_MS) {
  let timer;
  const guard = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

// Received messages in arrival order; next() waits for the next one.
export class Inbox {
  constructor() {
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  next(label) {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    return withTimeout(new Promise((resolve) => this.waiters.push(resolve)), label);
  }

  get pending() {
    return this.items.length;
  }
}

// Normalised form of one received message, compared against expectations.
export function msg(kind, pattern, channel, payload) {
  const toStr = (x) => (Buffer.isBuffer(x) ? x.toString('latin1') : String(x));
  return {
    kind,
    pattern: pattern === null ? null : toStr(pattern),
    channel: toStr(channel),
    payloadHex: Buffer.from(payload).toString('hex'),
  };
}

// Closes every client, never hanging longer than the guard.
async function closeAll(checker, clients, close) {
  for (const client of clients) {
    try {
      await withTimeout(Promise.resolve(close(client)), 'close client');
    } catch (err) {
      checker.fail('close client', err.message);
    }
  }
}

// Runs the scenario, counts an exception as a failed check, closes the
// clients and exits with the result.
export async function runScenario(checker, scenario, clients, close) {
  try {
    await scenario();
  } catch (err) {
    checker.fail('scenario aborted', err.stack || String(err));
  }
  await closeAll(checker, clients, close);
  checker.finish();
}
