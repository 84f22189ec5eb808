// Proves that node-redis (5: RESP2 by default, 6: RESP3 by default, each with its
// default connect handshake) can do pub/sub against the server on --port:
// SUBSCRIBE/PSUBSCRIBE confirmations, PUBSUB NUMSUB/NUMPAT, PUBLISH receiver
// counts, message/pmessage delivery of text and binary payloads in order,
// UNSUBSCRIBE of one channel and PUNSUBSCRIBE of the pattern.
//
// usage: node node_redis.mjs --port P --major 5|6
import { parseArgs } from 'node:util';
import { BINARY, Checker, Inbox, UNICODE, msg, runScenario, withTimeout } from './common.mjs';

const { values: args } = parseArgs({
  options: { port: { type: 'string' }, major: { type: 'string' } },
});
const port = Number(args.port);
if (!port || !['5', '6'].includes(args.major)) {
  console.error('usage: node node_redis.mjs --port P --major 5|6');
  process.exit(2);
}

const checker = new Checker(`node-redis-${args.major}`);
const { createClient } = await import(args.major === '5' ? 'redis5' : 'redis6');
const inbox = new Inbox();
const clients = [];

function newClient(role) {
  // Defaults apart from the address; no reconnect so a dropped link fails fast.
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
  client.on('error', (err) => checker.fail(`${role} client error event`, err.message));
  clients.push(client);
  return client;
}

// node-redis returns a null-prototype object for NUMSUB; make it plain.
const plain = (obj) => Object.fromEntries(Object.entries(obj));

async function expectMessage(label, expected) {
  checker.eq(label, await inbox.next(label), expected);
}

async function scenario() {
  const pub = newClient('publisher');
  const sub = newClient('subscriber');
  await withTimeout(pub.connect(), 'publisher connect');
  await withTimeout(sub.connect(), 'subscriber connect');
  checker.pass('both clients connected (default handshake accepted)');

  // One SUBSCRIBE with two channels, buffer mode so payload bytes are exact.
  await withTimeout(
    sub.subscribe(['interop:a', 'interop:b'], (message, channel) =>
      inbox.push(msg('message', null, channel, message)), true),
    'SUBSCRIBE interop:a interop:b');
  // Pattern listener in string mode (node-redis decodes UTF-8).
  await withTimeout(
    sub.pSubscribe('interop:p*', (message, channel) =>
      inbox.push(msg('pmessage', 'interop:p*', channel, message))),
    'PSUBSCRIBE interop:p*');
  checker.pass('SUBSCRIBE x2 and PSUBSCRIBE confirmed');

  checker.eq('PUBSUB NUMSUB a b zzz',
    plain(await withTimeout(pub.pubSubNumSub(['interop:a', 'interop:b', 'interop:zzz']), 'NUMSUB')),
    { 'interop:a': 1, 'interop:b': 1, 'interop:zzz': 0 });
  checker.eq('PUBSUB NUMPAT', await withTimeout(pub.pubSubNumPat(), 'NUMPAT'), 1);

  const publishes = [
    ['interop:a', 'hello a', msg('message', null, 'interop:a', 'hello a')],
    ['interop:b', 'hello b', msg('message', null, 'interop:b', 'hello b')],
    ['interop:p1', 'hello p1', msg('pmessage', 'interop:p*', 'interop:p1', 'hello p1')],
    ['interop:p2', UNICODE, msg('pmessage', 'interop:p*', 'interop:p2', UNICODE)],
    ['interop:a', BINARY, msg('message', null, 'interop:a', BINARY)],
  ];
  for (const [channel, payload, expected] of publishes) {
    const what = `${channel} ${payload === BINARY ? '<binary>' : JSON.stringify(payload)}`;
    checker.eq(`PUBLISH ${what} -> 1`,
      await withTimeout(pub.publish(channel, payload), `PUBLISH ${what}`), 1);
    await expectMessage(`received ${what}`, expected);
  }

  await withTimeout(sub.unsubscribe('interop:a'), 'UNSUBSCRIBE interop:a');
  // Named pattern on purpose: node-redis 5.x never resolves a bare PUNSUBSCRIBE
  // while channel subscriptions remain (it waits for a count of 0; fixed in 6).
  await withTimeout(sub.pUnsubscribe('interop:p*'), 'PUNSUBSCRIBE interop:p*');
  checker.pass('UNSUBSCRIBE interop:a and PUNSUBSCRIBE confirmed');

  // Raw reply this time: a flat array of channel, count pairs.
  checker.eq('PUBSUB NUMSUB a b after unsubscribe (raw)',
    await withTimeout(pub.sendCommand(['PUBSUB', 'NUMSUB', 'interop:a', 'interop:b']), 'NUMSUB raw'),
    ['interop:a', 0, 'interop:b', 1]);
  checker.eq('PUBSUB NUMPAT after punsubscribe', await withTimeout(pub.pubSubNumPat(), 'NUMPAT'), 0);
  checker.eq('PUBLISH interop:a -> 0', await withTimeout(pub.publish('interop:a', 'gone'), 'PUBLISH a'), 0);
  checker.eq('PUBLISH interop:p1 -> 0', await withTimeout(pub.publish('interop:p1', 'gone'), 'PUBLISH p1'), 0);
  checker.eq('PUBLISH interop:b -> 1', await withTimeout(pub.publish('interop:b', 'still here'), 'PUBLISH b'), 1);
  // Same connection, so order is kept: anything from interop:a/p1 would come first.
  await expectMessage('next message is interop:b "still here"',
    msg('message', null, 'interop:b', 'still here'));
}

// close() waits for pending replies, so after a failure drop the sockets instead.
await runScenario(checker, scenario, clients, (c) => (checker.failed ? c.destroy() : c.close()));
