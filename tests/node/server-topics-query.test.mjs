// The real AimDB server of the tests (tests/server, started by tests/js/server.mjs), spoken to
// over the wire with the `ws` package (no wasm): what issue 13's autoConfigure and query build on.
//  - list_topics: every out topic, with schema_type from the schemas the server registers
//    (temperature, humidity, setpoint); sensors/bad/vienna has none;
//  - query: the values the server sent (its query handler keeps them per topic), filtered by
//    pattern, from/to (inclusive) and limit (the newest n per topic), with total before limit.
import test from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startServer } from '../js/server.mjs';

/** A client that hands out the server's frames in order; `next(pred)` waits for the next match. */
async function connect(url) {
  const ws = new WebSocket(url);
  const frames = [];
  let wake = () => {};
  ws.on('message', (d) => { frames.push(JSON.parse(String(d))); wake(); });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let seen = 0;
  return {
    send: (msg) => ws.send(JSON.stringify(msg)),
    async next(pred) {
      for (;;) {
        while (seen < frames.length) { const f = frames[seen++]; if (pred(f)) return f; }
        await new Promise((r) => { wake = r; });
      }
    },
    close: () => ws.close(),
  };
}

test('list_topics carries schema_type; query returns the history the server sent', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const c = await connect(srv.url);
  t.after(() => c.close());

  c.send({ type: 'list_topics', id: 'l1' });
  const list = await c.next((f) => f.type === 'topic_list' && f.id === 'l1');
  const types = Object.fromEntries(list.topics.map((x) => [x.name, x.schema_type ?? null]));
  assert.deepEqual(types, {
    'sensors/temperature/vienna': 'temperature',
    'sensors/temperature/berlin': 'temperature',
    'sensors/humidity/vienna': 'humidity',
    'sensors/bad/vienna': null,
    'echo/setpoint/room1': 'setpoint',
  });

  // Three live values of one topic: all of them are in the server's history afterwards.
  c.send({ type: 'subscribe', topics: ['sensors/temperature/vienna'] });
  const live = [];
  while (live.length < 3) {
    live.push((await c.next((f) => f.type === 'data' && f.topic === 'sensors/temperature/vienna')).payload);
  }

  c.send({ type: 'query', id: 'q1', pattern: 'sensors/temperature/vienna' });
  const all = await c.next((f) => f.type === 'query_result' && f.id === 'q1');
  assert.ok(all.records.length >= 3 && all.total === all.records.length);
  for (const r of all.records) {
    assert.equal(r.topic, 'sensors/temperature/vienna');
    assert.equal(r.ts, r.payload.timestamp);
  }
  const byTs = new Map(all.records.map((r) => [r.ts, r.payload]));
  for (const v of live) assert.deepEqual(byTs.get(v.timestamp), v, 'a value sent live is in the history as sent');
  const tss = all.records.map((r) => r.ts);
  assert.deepEqual(tss, [...tss].sort((a, b) => a - b), 'oldest first');

  // from/to inclusive: exactly the second live value.
  c.send({ type: 'query', id: 'q2', pattern: 'sensors/temperature/vienna', from: live[1].timestamp, to: live[1].timestamp });
  const one = await c.next((f) => f.type === 'query_result' && f.id === 'q2');
  assert.deepEqual(one.records.map((r) => r.payload), [live[1]]);
  assert.equal(one.total, 1);

  // limit: the newest n per topic, total counts before the limit; wildcards as in subscribe.
  c.send({ type: 'query', id: 'q3', pattern: 'sensors/*/vienna', to: live[2].timestamp, limit: 2 });
  const lim = await c.next((f) => f.type === 'query_result' && f.id === 'q3');
  const perTopic = {};
  for (const r of lim.records) (perTopic[r.topic] ??= []).push(r);
  assert.deepEqual(Object.keys(perTopic).sort(), ['sensors/bad/vienna', 'sensors/humidity/vienna', 'sensors/temperature/vienna']);
  for (const rs of Object.values(perTopic)) assert.ok(rs.length <= 2 && rs.every((r) => r.ts <= live[2].timestamp));
  assert.deepEqual(perTopic['sensors/temperature/vienna'].map((r) => r.payload), [live[1], live[2]]);
  assert.ok(lim.total > lim.records.length);
  assert.equal(perTopic['sensors/bad/vienna'][0].payload.celsius, 'hot', 'kept as sent, contract violation and all');
});
