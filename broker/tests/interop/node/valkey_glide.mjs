// Proves that valkey-glide 2 (Rust core, Node bindings, RESP3) can do pub/sub
// against the server on --port: channels and a pattern subscribed at client
// creation (`pubsubSubscriptions`), PUBSUB NUMSUB/NUMPAT, PUBLISH receiver
// counts, delivery once and in order with exact bytes and the right
// channel/pattern, subscribe/unsubscribe/punsubscribe at runtime, and close
// while subscribed. Glide refuses pub/sub over RESP2, so RESP3 is the only
// mode. Its standalone client keeps sharded subscriptions as "desired" and
// never sends SSUBSCRIBE (sharded pub/sub is GlideClusterClient's, which needs
// cluster mode); the script checks exactly that, the same on any server.
//
// usage: node valkey_glide.mjs --port P
import { parseArgs } from 'node:util';
import { Decoder, GlideClient, GlideClientConfiguration } from '@valkey/valkey-glide';
import { BINARY, Checker, Inbox, UNICODE, msg, runScenario, withTimeout } from './common.mjs';

const { values: args } = parseArgs({ options: { port: { type: 'string' } } });
const port = Number(args.port);
if (!port) {
  console.error('usage: node valkey_glide.mjs --port P');
  process.exit(2);
}

const { Exact, Pattern } = GlideClientConfiguration.PubSubChannelModes;
// Glide's cluster enum value for sharded channels; the standalone enum lacks it.
const SHARDED = 2;
const TIMEOUT_MS = 5_000;

const checker = new Checker('valkey-glide');
const inbox = new Inbox();
const clients = [];

async function newClient(extra) {
  const client = await withTimeout(GlideClient.createClient({
    addresses: [{ host: '127.0.0.1', port }],
    requestTimeout: TIMEOUT_MS,
    ...extra,
  }), 'create client');
  clients.push(client);
  return client;
}

const names = (set) => [...(set ?? [])].map((x) => Buffer.from(x).toString('latin1')).sort();

// Glide subscribes from its own task after creation; waits (bounded by the
// guard) until the server has confirmed what was asked.
async function subscriptionsSettled(client, label, want) {
  const settled = async () => {
    for (;;) {
      const state = await client.getSubscriptions();
      const actual = [Exact, Pattern].map((m) => names(state.actualSubscriptions[m]));
      if (JSON.stringify(actual) === JSON.stringify(want)) return state;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return withTimeout(settled(), label);
}

// NUMSUB comes back through a hash map in glide's core: compare it sorted.
async function numsub(pub, channels) {
  const rows = await withTimeout(pub.pubsubNumSub(channels), 'PUBSUB NUMSUB');
  return rows.map((r) => [String(r.channel), r.numSub]).sort();
}

async function publishAndReceive(pub, channel, payload, expected) {
  const what = `${channel} ${payload === BINARY ? '<binary>' : JSON.stringify(payload)}`;
  checker.eq(`PUBLISH ${what} -> 1`, await withTimeout(pub.publish(payload, channel), `PUBLISH ${what}`), 1);
  checker.eq(`received ${what}`, await inbox.next(`received ${what}`), expected);
}

async function scenario() {
  const sub = await newClient({
    defaultDecoder: Decoder.Bytes,
    pubsubSubscriptions: {
      channelsAndPatterns: {
        [Exact]: new Set(['interop:a', 'interop:b']),
        [Pattern]: new Set(['interop:p*']),
        [SHARDED]: new Set(['interop:s']),
      },
      callback: (m) => inbox.push(msg(m.pattern ? 'pmessage' : 'message', m.pattern ?? null, m.channel, m.message)),
    },
  });
  const pub = await newClient({});
  checker.pass('both clients created (HELLO 3, CLIENT SETINFO accepted)');

  const state = await subscriptionsSettled(sub, 'subscriptions at creation',
    [['interop:a', 'interop:b'], ['interop:p*']]);
  checker.pass('channels and pattern from pubsubSubscriptions confirmed');
  checker.eq('sharded subscription stays desired only (standalone client)',
    [names(state.desiredSubscriptions[SHARDED]), names(state.actualSubscriptions[SHARDED])],
    [['interop:s'], []]);

  checker.eq('PUBSUB NUMSUB a b zzz', await numsub(pub, ['interop:a', 'interop:b', 'interop:zzz']),
    [['interop:a', 1], ['interop:b', 1], ['interop:zzz', 0]]);
  checker.eq('PUBSUB NUMPAT', await withTimeout(pub.pubsubNumPat(), 'NUMPAT'), 1);
  checker.eq('PUBSUB SHARDNUMSUB interop:s (never sent SSUBSCRIBE)',
    await withTimeout(pub.customCommand(['PUBSUB', 'SHARDNUMSUB', 'interop:s']), 'SHARDNUMSUB'),
    [{ key: 'interop:s', value: 0 }]);

  await publishAndReceive(pub, 'interop:a', 'hello a', msg('message', null, 'interop:a', 'hello a'));
  await publishAndReceive(pub, 'interop:b', 'hello b', msg('message', null, 'interop:b', 'hello b'));
  await publishAndReceive(pub, 'interop:p1', 'hello p1', msg('pmessage', 'interop:p*', 'interop:p1', 'hello p1'));
  await publishAndReceive(pub, 'interop:p2', UNICODE, msg('pmessage', 'interop:p*', 'interop:p2', UNICODE));
  await publishAndReceive(pub, 'interop:a', BINARY, msg('message', null, 'interop:a', BINARY));
  // Nobody holds the shard channel: the sharded subscription was never sent.
  checker.eq('SPUBLISH interop:s -> 0',
    await withTimeout(pub.customCommand(['SPUBLISH', 'interop:s', 'nobody']), 'SPUBLISH'), 0);

  await withTimeout(sub.subscribe(['interop:c'], TIMEOUT_MS), 'subscribe interop:c');
  await publishAndReceive(pub, 'interop:c', 'hello c', msg('message', null, 'interop:c', 'hello c'));
  await withTimeout(sub.unsubscribe(['interop:a'], TIMEOUT_MS), 'unsubscribe interop:a');
  await withTimeout(sub.punsubscribe(['interop:p*'], TIMEOUT_MS), 'punsubscribe interop:p*');
  checker.pass('runtime subscribe, unsubscribe and punsubscribe confirmed');

  checker.eq('PUBSUB NUMSUB a b c after unsubscribe', await numsub(pub, ['interop:a', 'interop:b', 'interop:c']),
    [['interop:a', 0], ['interop:b', 1], ['interop:c', 1]]);
  checker.eq('PUBSUB NUMPAT after punsubscribe', await withTimeout(pub.pubsubNumPat(), 'NUMPAT'), 0);
  checker.eq('PUBLISH interop:a -> 0', await withTimeout(pub.publish('gone', 'interop:a'), 'PUBLISH a'), 0);
  checker.eq('PUBLISH interop:p1 -> 0', await withTimeout(pub.publish('gone', 'interop:p1'), 'PUBLISH p1'), 0);
  // One connection, so order is kept: a stray delivery would come first, and
  // nothing may be left over once the last one is in.
  await publishAndReceive(pub, 'interop:b', 'still here', msg('message', null, 'interop:b', 'still here'));
  checker.eq('every message arrived once (nothing pending)', inbox.pending, 0);
}

await runScenario(checker, scenario, clients, (c) => c.close());
