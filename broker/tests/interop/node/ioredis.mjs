// Proves that ioredis 5 with default options (RESP2, INFO ready check on
// connect) can do pub/sub against the server on --port: subscribe/psubscribe
// counts, PUBSUB NUMSUB/NUMPAT, PUBLISH receiver counts, 'message'/'pmessage'
// delivery in order with exact bytes ('messageBuffer'), unsubscribe of one
// channel and of the pattern, and QUIT while still subscribed.
//
// usage: node ioredis.mjs --port P
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { BINARY, Checker, Inbox, UNICODE, msg, runScenario, withTimeout } from './common.mjs';

const { values: args } = parseArgs({ options: { port: { type: 'string' } } });
const port = Number(args.port);
if (!port) {
  console.error('usage: node ioredis.mjs --port P');
  process.exit(2);
}

const checker = new Checker('ioredis');
const inbox = new Inbox(); // 'message' and 'pmessage' events (strings)
const rawInbox = new Inbox(); // 'messageBuffer' events (exact bytes)
const clients = [];

function newClient(role) {
  const client = new Redis({ host: '127.0.0.1', port });
  client.on('error', (err) => checker.fail(`${role} client error event`, err.message));
  clients.push(client);
  return client;
}

async function scenario() {
  const pub = newClient('publisher');
  const sub = newClient('subscriber');
  await withTimeout(Promise.all([once(pub, 'ready'), once(sub, 'ready')]), 'ready (INFO check)');
  checker.pass('both clients ready (INFO ready check accepted)');

  sub.on('message', (channel, message) => inbox.push(msg('message', null, channel, message)));
  sub.on('pmessage', (pattern, channel, message) =>
    inbox.push(msg('pmessage', pattern, channel, message)));
  sub.on('messageBuffer', (channel, message) => rawInbox.push(msg('message', null, channel, message)));

  checker.eq('subscribe interop:a interop:b -> 2',
    await withTimeout(sub.subscribe('interop:a', 'interop:b'), 'subscribe'), 2);
  checker.eq('psubscribe interop:p* -> 3',
    await withTimeout(sub.psubscribe('interop:p*'), 'psubscribe'), 3);

  checker.eq('PUBSUB NUMSUB a b zzz',
    await withTimeout(pub.pubsub('NUMSUB', 'interop:a', 'interop:b', 'interop:zzz'), 'NUMSUB'),
    ['interop:a', 1, 'interop:b', 1, 'interop:zzz', 0]);
  checker.eq('PUBSUB NUMPAT', await withTimeout(pub.pubsub('NUMPAT'), 'NUMPAT'), 1);

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
    const got = await inbox.next(`received ${what}`);
    if (expected.kind === 'pmessage') {
      checker.eq(`received ${what} ('pmessage')`, got, expected);
    } else {
      // 'message' decodes as UTF-8 (lossy for BINARY); bytes come from 'messageBuffer'.
      checker.eq(`received ${what} ('message' channel)`, got.channel, expected.channel);
      checker.eq(`received ${what} ('messageBuffer' bytes)`,
        await rawInbox.next(`messageBuffer ${what}`), expected);
    }
  }

  checker.eq('unsubscribe interop:a -> 2 left',
    await withTimeout(sub.unsubscribe('interop:a'), 'unsubscribe'), 2);
  // Named pattern on purpose: ioredis never resolves a bare punsubscribe()
  // while channel subscriptions remain (it waits for a count of 0).
  checker.eq('punsubscribe interop:p* -> 1 left',
    await withTimeout(sub.punsubscribe('interop:p*'), 'punsubscribe'), 1);

  checker.eq('PUBSUB NUMSUB a b after unsubscribe',
    await withTimeout(pub.pubsub('NUMSUB', 'interop:a', 'interop:b'), 'NUMSUB'),
    ['interop:a', 0, 'interop:b', 1]);
  checker.eq('PUBSUB NUMPAT after punsubscribe', await withTimeout(pub.pubsub('NUMPAT'), 'NUMPAT'), 0);
  checker.eq('PUBLISH interop:a -> 0', await withTimeout(pub.publish('interop:a', 'gone'), 'PUBLISH a'), 0);
  checker.eq('PUBLISH interop:p1 -> 0', await withTimeout(pub.publish('interop:p1', 'gone'), 'PUBLISH p1'), 0);
  checker.eq('PUBLISH interop:b -> 1', await withTimeout(pub.publish('interop:b', 'still here'), 'PUBLISH b'), 1);
  // Same connection, so order is kept: anything from interop:a/p1 would come first.
  checker.eq('next message is interop:b "still here"', await inbox.next('still here'),
    msg('message', null, 'interop:b', 'still here'));

  // QUIT from a connection that is still subscribed (interop:b).
  checker.eq('subscriber QUIT -> OK', await withTimeout(sub.quit(), 'subscriber QUIT'), 'OK');
  checker.eq('publisher QUIT -> OK', await withTimeout(pub.quit(), 'publisher QUIT'), 'OK');
}

await runScenario(checker, scenario, clients, (c) => c.disconnect());
