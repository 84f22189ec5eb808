// A subscriber and a publisher that find the master through Redis Sentinel,
// for tests/sentinel_clients.rs: ioredis 5 (`new Redis({sentinels, name})`)
// or node-redis 5 (`createSentinel({name, sentinelRootNodes})`), with the
// libraries' defaults otherwise, so that what they do on a failover is what
// an application gets.
//
// stdout, one line each: `READY` once subscribed, `MESSAGE <payload>` for
// every message on the channel, `PUBLISHED <payload> <receivers>` or
// `PUBLISH-FAILED <payload> <error>` for each `PUBLISH <payload>` line read
// from stdin, and `EVENT <ms since start> <what>` for what the library
// reports about its connections (the test prints them).
//
// usage: node sentinel_client.mjs --lib ioredis|node-redis-5 --sentinels P1,P2,P3 --channel C
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';

const { values: args } = parseArgs({
  options: {
    lib: { type: 'string' },
    sentinels: { type: 'string' },
    channel: { type: 'string' },
    name: { type: 'string', default: 'mymaster' },
  },
});
const sentinels = (args.sentinels ?? '').split(',').filter(Boolean)
  .map((port) => ({ host: '127.0.0.1', port: Number(port) }));
if (!['ioredis', 'node-redis-5'].includes(args.lib) || !sentinels.length || !args.channel) {
  console.error('usage: node sentinel_client.mjs --lib ioredis|node-redis-5 --sentinels P1,P2,P3 --channel C');
  process.exit(2);
}

const started = Date.now();
const event = (what) => console.log(`EVENT ${Date.now() - started} ${what}`);

// Each returns { subscribe(onMessage), publish(payload) -> receivers }.
async function ioredis() {
  const { default: Redis } = await import('ioredis');
  const open = (role) => {
    const client = new Redis({ sentinels, name: args.name });
    for (const e of ['connect', 'ready', 'close', 'reconnecting', 'end']) {
      client.on(e, () => event(`${role} ${e}`));
    }
    client.on('error', (err) => event(`${role} error ${err.message}`));
    return client;
  };
  const sub = open('subscriber');
  const pub = open('publisher');
  return {
    async subscribe(onMessage) {
      sub.on('message', (_channel, message) => onMessage(message));
      await sub.subscribe(args.channel);
    },
    publish: (payload) => pub.publish(args.channel, payload),
  };
}

async function nodeRedis5() {
  const { createSentinel } = await import('redis5');
  const sentinel = createSentinel({ name: args.name, sentinelRootNodes: sentinels });
  sentinel.on('error', (err) => event(`error ${err.message}`));
  sentinel.on('topology-change', (change) => {
    const node = change.node ? ` ${change.node.host}:${change.node.port}` : '';
    event(`topology-change ${change.type}${node}`);
  });
  // What made it look at the sentinels again (a message on its sentinel's
  // event channels) and what it concluded.
  sentinel.setTracer({
    push(line) {
      if (/control channel|analyze: master|observe: error|exception/.test(line)) event(`trace ${line}`);
    },
  });
  await sentinel.connect();
  return {
    // The sentinel object's own SUBSCRIBE goes through its PubSubProxy,
    // which follows the master.
    subscribe: (onMessage) => sentinel.subscribe(args.channel, onMessage),
    publish: (payload) => sentinel.publish(args.channel, payload),
  };
}

const client = args.lib === 'ioredis' ? await ioredis() : await nodeRedis5();
await client.subscribe((message) => console.log(`MESSAGE ${message}`));
console.log('READY');

createInterface({ input: process.stdin }).on('line', async (line) => {
  const payload = line.replace(/^PUBLISH /, '');
  try {
    console.log(`PUBLISHED ${payload} ${await client.publish(payload)}`);
  } catch (err) {
    console.log(`PUBLISH-FAILED ${payload} ${err.message}`);
  }
});
// The test closes stdin when it is done.
process.stdin.on('end', () => process.exit(0));
