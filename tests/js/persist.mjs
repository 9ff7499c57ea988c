// IndexedDB persistence (issue 12) in real Chromium against the real AimDB server:
// pages of one browser context come and go (a reload is a new page in the same
// context: same origin, same IndexedDB), driven from here through tests/js/persist-page.mjs
// (`window.P`). Each scenario gets a fresh context (empty storage).
import { startServer } from './server.mjs';
import { assert, until as waitUntil } from './wait.mjs';

const CMD = { schemaType: 'setpoint', topic: 'commands/setpoint/room1', link: 'out' };
const WAIT_MS = 20_000;

/** `until` (wait.mjs) with this suite's longer default wait. */
const until = (pred, what, ms = WAIT_MS) => waitUntil(pred, what, ms);

export async function runPersist(browser, base, record, filter) {
  const label = 'persist';
  let srv;
  try {
    srv = await startServer();
  } catch (e) {
    record(`${label}: the AimDB test server starts`, false, e && e.stack ? e.stack : String(e));
    return;
  }
  const url = srv.url;
  /** This test's writes in the server's log: their target_celsius values, in order. */
  const written = (ts) => srv.readWrites().filter((w) => w.payload.timestamp >= ts && w.payload.timestamp < ts + 1_000_000).map((w) => w.payload.target_celsius);

  async function scenario(name, fn) {
    const full = `${label} ${name}`;
    if (filter && !full.includes(filter)) return;
    const ctx = await browser.newContext();
    const problems = [];
    const newPage = async () => {
      const page = await ctx.newPage();
      page.on('pageerror', (e) => problems.push(`page error: ${e.stack ?? e}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/WebSocket connection to .* failed/.test(m.text())) problems.push(`console error: ${m.text()}`);
      });
      await page.goto(`${base}/tests/js/pages/persist.html`);
      await page.waitForFunction(() => window.__ready === true, null, { timeout: WAIT_MS });
      return page;
    };
    const started = Date.now();
    try {
      const notes = (await fn(newPage, ctx)) ?? [];
      assert(problems.length === 0, problems.join('\n'));
      record(full, true, '', [...notes, ...(Date.now() - started > 1000 ? [`${Date.now() - started} ms`] : [])]);
    } catch (e) {
      record(full, false, `${e && e.stack ? e.stack : e}${problems.length ? `\n${problems.join('\n')}` : ''}`);
    } finally {
      await ctx.close();
      await srv.restart(); // up for the next scenario, whatever this one left
    }
  }

  try {
    await scenario('(1) 5 offline writes survive a reload and reach the server exactly once, FIFO', async (newPage) => {
      await srv.stop();
      const ts = Date.now() * 1000;
      const p1 = await newPage();
      await p1.evaluate(([url, cmd]) => P.makeDb({ cmd }) && P.connect(url, 's1'), [url, CMD]);
      const st = await p1.evaluate(([ts]) => P.write('cmd', [1, 2, 3, 4, 5], ts), [ts]);
      assert(st.queued === 5 && st.sent === 0, `queued offline: ${JSON.stringify(st)}`);
      await p1.evaluate(() => P.bridge.persisted());
      const stored = await p1.evaluate(() => P.idb('queues'));
      assert(stored.length === 1 && stored[0].value.writes.length === 10, `stored (key, payload) x 5: ${JSON.stringify(stored)}`);
      await p1.close(); // the reload: this page is gone, a new one opens

      const p2 = await newPage();
      await p2.evaluate(([url, cmd]) => P.makeDb({ cmd }) && P.connect(url, 's1'), [url, CMD]);
      await p2.evaluate(() => P.until(() => P.bridge.stats().queued === 5, 'the 5 stored writes back in the queue'));
      const errors = await p2.evaluate(() => P.errors.filter((e) => e.code !== 'CONNECTION_REFUSED'));
      assert(errors.length === 0, `errors: ${JSON.stringify(errors)}`);
      await srv.restart();
      await p2.evaluate(() => P.until(() => P.bridge.stats().confirmed === 5, 'a pong confirming the 5 writes'));
      await p2.evaluate(() => P.bridge.persisted());
      const left = await p2.evaluate(() => P.idb('queues'));
      assert(left.length === 0, `nothing stored once confirmed: ${JSON.stringify(left)}`);
      // A third page finds nothing to send.
      await p2.close();
      const p3 = await newPage();
      await p3.evaluate(([url, cmd]) => P.makeDb({ cmd }) && P.connect(url, 's1'), [url, CMD]);
      await p3.evaluate(() => P.until(() => P.events.includes('status:connected'), 'connected'));
      const s3 = await p3.evaluate(() => P.bridge.stats());
      assert(s3.sent === 0 && s3.queued === 0, `the third page sent nothing: ${JSON.stringify(s3)}`);
      const got = written(ts);
      assert(JSON.stringify(got) === '[1,2,3,4,5]', `server got ${JSON.stringify(got)}`);
      return [`server log: ${JSON.stringify(got)}`];
    });

    await scenario('(2) a page closed mid-flush of 100 writes: the next page re-sends the unconfirmed ones, every write at least once, in order', async (newPage) => {
      await srv.stop();
      const ts = Date.now() * 1000;
      const N = 100;
      const READ = 40; // the server reads this many, then the tab dies
      const values = Array.from({ length: N }, (_, i) => i);
      const p1 = await newPage();
      await p1.evaluate(([url, cmd, n]) => P.makeDb({ cmd }) && P.connect(url, 's2', { stallAfter: n }), [url, CMD, READ]);
      await p1.evaluate(([values, ts]) => P.write('cmd', values, ts), [values, ts]);
      await p1.evaluate(() => P.bridge.persisted());
      await srv.restart();
      await until(() => written(ts).length >= READ, `the server reading ${READ} writes`);
      const s1 = await p1.evaluate(() => P.bridge.stats());
      assert(s1.sent === N && s1.unconfirmed === N && s1.confirmed === 0, `all handed to the socket, none confirmed: ${JSON.stringify(s1)}`);
      await p1.close(); // mid-flush: 40 read by the server, 60 in the socket's buffer

      const p2 = await newPage();
      await p2.evaluate(([url, cmd]) => P.makeDb({ cmd }) && P.connect(url, 's2'), [url, CMD]);
      await p2.evaluate((n) => P.until(() => P.bridge.stats().confirmed === n, 'the re-sent writes confirmed'), N);
      const got = written(ts);
      const want = [...values.slice(0, READ), ...values];
      assert(JSON.stringify(got) === JSON.stringify(want), `server got ${JSON.stringify(got)}`);
      for (const v of values) assert(got.includes(v), `write ${v} never reached the server`);
      return [`server got ${got.length} writes for ${N}: the ${READ} read before the close twice (the duplicate window), in order`];
    });

    await scenario('(3) a persisted ring of 200 and a SingleLatest record survive a reload, delivered before the bridge connects', async (newPage) => {
      const records = {
        'local.ring': { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 256 }, persist: true },
        'local.latest': { schemaType: 'temperature', persist: true },
        cmd: { ...CMD, persist: true }, // an out record: its restored value is not sent again
      };
      const p1 = await newPage();
      await p1.evaluate((records) => {
        P.makeDb(records);
        P.db.setMany('local.ring', Array.from({ length: 200 }, (_, i) => ({ celsius: i, timestamp: i })));
        P.db.set('local.latest', { celsius: 21.5, timestamp: 7 });
        P.db.set('cmd', { target_celsius: 19, timestamp: 8 });
      }, records);
      await p1.evaluate(() =>
        P.until(async () => {
          const rs = await P.idb('records');
          const ring = rs.find((r) => r.key === 'local.ring');
          return ring?.value.values.length === 200 && rs.some((r) => r.key === 'local.latest') && rs.some((r) => r.key === 'cmd');
        }, 'the records stored'),
      );
      await p1.close();

      const p2 = await newPage();
      await p2.evaluate(([records, url]) => {
        P.makeDb(records);
        P.watch('local.ring', 'celsius');
        P.watch('local.latest', 'celsius');
        P.connect(url);
      }, [records, url]);
      await p2.evaluate(() => P.until(() => P.events.includes('status:connected'), 'connected'));
      await p2.evaluate(() => P.until(() => P.events.filter((e) => e.startsWith('local.ring:')).length >= 200, 'the ring delivered'));
      const events = await p2.evaluate(() => P.events);
      const ring = events.filter((e) => e.startsWith('local.ring:')).map((e) => Number(e.split(':')[1]));
      assert(JSON.stringify(ring) === JSON.stringify(Array.from({ length: 200 }, (_, i) => i)), `ring delivered ${JSON.stringify(ring)}`);
      const connectedAt = events.indexOf('status:connected');
      const lastRestored = Math.max(events.lastIndexOf('local.ring:199'), events.indexOf('local.latest:21.5'));
      assert(events.includes('local.latest:21.5'), `latest restored: ${JSON.stringify(events.slice(-5))}`);
      assert(lastRestored < connectedAt, `restored values before 'connected': ${JSON.stringify(events.filter((e) => !e.startsWith('local.ring:')))}`);
      const errs = await p2.evaluate(() => [...P.errors, ...P.recordErrors]);
      assert(errs.length === 0, `errors: ${JSON.stringify(errs)}`);
      const latest = await p2.evaluate(() => P.db.get('local.latest'));
      assert(latest.schema_version === 2 && latest.celsius === 21.5, `get(): ${JSON.stringify(latest)}`);
      const cmd = await p2.evaluate(() => ({ value: P.db.get('cmd'), stats: P.bridge.stats() }));
      assert(cmd.value?.target_celsius === 19, `the out record restored: ${JSON.stringify(cmd.value)}`);
      assert(cmd.stats.sent === 0 && cmd.stats.queued === 0, `a restored value is not a write: ${JSON.stringify(cmd.stats)}`);
    });

    await scenario('(4) after a schema change a stored value that fails the contract is dropped and reported; a stored v1 value comes back as v2', async (newPage) => {
      const p1 = await newPage();
      // Version 1 of the app: 'local.reading' is a humidity record.
      await p1.evaluate(() => {
        P.makeDb({ 'local.reading': { schemaType: 'humidity', persist: true } });
        P.db.set('local.reading', { percent: 40, timestamp: 1 });
      });
      await p1.evaluate(() => P.until(async () => (await P.idb('records')).some((r) => r.key === 'local.reading'), 'stored'));
      // What an older version stored for 'local.old': a v1 temperature.
      await p1.evaluate(() => P.plant('records', 'local.old', { schemaType: 'temperature', values: [{ schema_version: 1, temp: 68, unit: 'F', timestamp: 3 }] }));
      await p1.close();

      const p2 = await newPage();
      // Version 2: 'local.reading' is a temperature now.
      await p2.evaluate(() => {
        P.makeDb({ 'local.reading': { schemaType: 'temperature', persist: true }, 'local.old': { schemaType: 'temperature', persist: true } });
        P.watch('local.reading', 'celsius');
        P.watch('local.old', 'celsius');
      });
      const err = await p2.evaluate(() => P.until(() => P.recordErrors[0], 'the dropped value reported'));
      assert(err.code === 'CONTRACT_VIOLATION' && err.key === 'local.reading' && /stored value/.test(err.message), `reported: ${JSON.stringify(err)}`);
      const old = await p2.evaluate(() => P.until(() => P.db.get('local.old'), 'the v1 value restored'));
      assert(old.schema_version === 2 && old.celsius === 20 && old.timestamp === 3, `migrated: ${JSON.stringify(old)}`);
      await p2.evaluate(() => P.until(() => P.events.includes('local.old:20'), 'the migrated value delivered'));
      const state = await p2.evaluate(() => ({ reading: P.db.get('local.reading'), events: P.events, errors: P.recordErrors }));
      assert(state.reading === null && !state.events.some((e) => e.startsWith('local.reading')), `never delivered: ${JSON.stringify(state)}`);
      assert(state.errors.length === 1, `reported once: ${JSON.stringify(state.errors)}`);
    });

    await scenario('(5) quota exceeded: reported as STORAGE_ERROR, the bridge and the db go on in memory', async (newPage, ctx) => {
      const p = await newPage();
      const cdp = await ctx.newCDPSession(p);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(base).origin, quotaSize: 1 });
      const ts = Date.now() * 1000;
      await p.evaluate(([url, cmd]) => {
        P.makeDb({ cmd, 'local.latest': { schemaType: 'temperature', persist: true } });
        P.connect(url, 's5');
      }, [url, CMD]);
      await p.evaluate(() => P.until(() => P.events.includes('status:connected'), 'connected'));
      await p.evaluate((ts) => {
        P.write('cmd', [1, 2, 3], ts);
        P.db.set('local.latest', { celsius: 5, timestamp: 1 });
      }, ts);
      const errs = await p.evaluate(() => P.until(() => P.errors.length > 0 && P.recordErrors.length > 0 && [...P.errors, ...P.recordErrors], 'both storage errors'));
      for (const e of errs) assert(e.code === 'STORAGE_ERROR' && e.cause === 'QuotaExceededError', `reported: ${JSON.stringify(errs)}`);
      await p.evaluate(() => P.until(() => P.bridge.stats().confirmed === 3, 'the writes confirmed'));
      assert(JSON.stringify(written(ts)) === '[1,2,3]', `server got ${JSON.stringify(written(ts))}`);
      const more = await p.evaluate((ts) => {
        P.write('cmd', [4], ts);
        P.db.set('local.latest', { celsius: 6, timestamp: 2 });
        return P.db.get('local.latest').celsius;
      }, ts);
      assert(more === 6, `the db works: ${more}`);
      await until(() => written(ts).length === 4, 'the 4th write');
      const after = await p.evaluate(() => ({ bridge: P.errors, record: P.recordErrors }));
      assert([...after.bridge, ...after.record].every((e) => e.code === 'STORAGE_ERROR' && e.cause === 'QuotaExceededError'), JSON.stringify(after));
      // Once per failing streak, not per value (the record's every store failed; the queue's
      // empty rewrite, a delete, succeeds under any quota and ends a streak).
      assert(after.record.length === 1 && after.bridge.length <= 2, `reported once per failing streak: ${JSON.stringify(after)}`);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(base).origin });
    });
    await scenario('(6) two tabs keep their own queues; a closed tab\'s queue is taken over by the next tab, not by a live one', async (newPage) => {
      await srv.stop();
      const ts = Date.now() * 1000;
      const open = async () => {
        const p = await newPage();
        await p.evaluate(([url, cmd]) => P.makeDb({ cmd }) && P.connect(url, 's6'), [url, CMD]);
        return p;
      };
      const a = await open();
      const b = await open();
      // Interleaved writes of both tabs, each stored before the next.
      for (const [p, v] of [[a, 1], [b, 11], [a, 2], [b, 12]]) {
        await p.evaluate(([v, ts]) => P.write('cmd', [v], ts) && P.bridge.persisted(), [v, ts]);
      }
      const entries = await a.evaluate(() => P.idb('queues'));
      const stored = entries.map((e) => e.value.writes.filter((_, i) => i % 2 === 1).map((p) => JSON.parse(p).target_celsius)).sort();
      assert(JSON.stringify(stored) === '[[1,2],[11,12]]', `one entry per tab: ${JSON.stringify(stored)}`);
      await a.close();
      const c = await open(); // adopts a's queue; b is alive: its queue stays b's
      await c.evaluate(() => P.until(() => P.bridge.stats().queued === 2, "a's 2 writes adopted"));
      const sb = await b.evaluate(() => P.bridge.stats());
      assert(sb.queued === 2, `b kept its own: ${JSON.stringify(sb)}`);
      await srv.restart();
      await c.evaluate(() => P.until(() => P.bridge.stats().confirmed === 2, 'c flushed what it adopted'));
      await b.evaluate(() => P.until(() => P.bridge.stats().confirmed === 2, 'b flushed its own'));
      const got = written(ts);
      assert(JSON.stringify([...got].sort((x, y) => x - y)) === '[1,2,11,12]', `each write once: ${JSON.stringify(got)}`);
      assert(got.indexOf(1) < got.indexOf(2) && got.indexOf(11) < got.indexOf(12), `FIFO per tab: ${JSON.stringify(got)}`);
      await c.evaluate(() => P.bridge.persisted());
      await b.evaluate(() => P.bridge.persisted());
      const left = await b.evaluate(() => P.idb('queues'));
      assert(left.length === 0, `nothing left stored: ${JSON.stringify(left)}`);
      return [`server log: ${JSON.stringify(got)}`];
    });
    await scenario('(7) the overflow policy holds for restored writes: drops counted and reported', async (newPage) => {
      await srv.stop();
      const ts = Date.now() * 1000;
      const opts = { maxOfflineQueue: 3, overflow: 'dropOldest' };
      const p1 = await newPage();
      await p1.evaluate(([url, cmd, opts]) => P.makeDb({ cmd }) && P.connect(url, 's7', opts), [url, CMD, opts]);
      await p1.evaluate((ts) => P.write('cmd', [1, 2, 3, 4], ts) && P.bridge.persisted(), ts);
      const s1 = await p1.evaluate(() => ({ stats: P.bridge.stats(), errors: P.errors.filter((e) => e.code === 'WRITE_DROPPED') }));
      assert(s1.stats.dropped === 1 && s1.errors.length === 1 && s1.errors[0].reason === 'droppedOldest', `page 1: ${JSON.stringify(s1)}`);
      await p1.close();
      const p2 = await newPage();
      // Two new writes while the 3 stored ones (2, 3, 4) are read back: they go behind them,
      // and the oldest two of the five are dropped.
      await p2.evaluate(([url, cmd, opts, ts]) => P.makeDb({ cmd }) && P.connect(url, 's7', opts) && P.write('cmd', [5, 6], ts), [url, CMD, opts, ts]);
      const s2 = await p2.evaluate(() =>
        P.until(() => P.bridge.stats().dropped === 2 && { stats: P.bridge.stats(), errors: P.errors.filter((e) => e.code === 'WRITE_DROPPED') }, 'the restore trimmed by the policy'),
      );
      assert(s2.stats.queued === 3 && s2.errors.length === 2 && s2.errors.every((e) => e.reason === 'droppedOldest'), `page 2: ${JSON.stringify(s2)}`);
      await srv.restart();
      await p2.evaluate(() => P.until(() => P.bridge.stats().confirmed === 3, 'the 3 kept writes confirmed'));
      const got = written(ts);
      assert(JSON.stringify(got) === '[4,5,6]', `server got ${JSON.stringify(got)}`);
      return [`server log: ${JSON.stringify(got)}; 1 + 2 drops reported`];
    });
    await scenario('(8) Worker mode: the worker persists; a main-thread page sends its writes and gets its record', async (newPage) => {
      await srv.stop();
      const ts = Date.now() * 1000;
      const records = { cmd: CMD, 'local.latest': { schemaType: 'temperature', persist: true } };
      const p1 = await newPage();
      await p1.evaluate(() => P.plant('records', 'local.bad', { schemaType: 'humidity', values: [{ percent: 40, timestamp: 1 }] }));
      const withBad = { ...records, 'local.bad': { schemaType: 'temperature', persist: true } };
      await p1.evaluate(([url, records]) => P.makeWorkerDb(records).then(() => P.connect(url, 's8')), [url, withBad]);
      const err = await p1.evaluate(() => P.until(() => P.recordErrors[0], "the worker's drop reported to inWorker's onError"));
      assert(err.code === 'CONTRACT_VIOLATION' && err.key === 'local.bad', `reported: ${JSON.stringify(err)}`);
      await p1.evaluate((ts) => {
        P.write('cmd', [1, 2, 3], ts);
        P.db.set('local.latest', { celsius: 30, timestamp: 9 });
        return P.bridge.persisted();
      }, ts);
      const q = await p1.evaluate(() => P.idb('queues'));
      assert(q.length === 1 && q[0].value.writes.length === 6, `stored by the worker's bridge only (not by the page's check of the options): ${JSON.stringify(q)}`);
      await p1.evaluate(() => P.until(async () => (await P.idb('records')).some((r) => r.key === 'local.latest'), 'the record stored by the worker'));
      await p1.close();
      const p2 = await newPage();
      await p2.evaluate(([url, records]) => P.makeDb(records) && P.connect(url, 's8'), [url, records]);
      await p2.evaluate(() => P.until(() => P.bridge.stats().queued === 3, "the worker's 3 writes restored"));
      const latest = await p2.evaluate(() => P.db.get('local.latest'));
      assert(latest?.celsius === 30, `record restored: ${JSON.stringify(latest)}`);
      await srv.restart();
      await p2.evaluate(() => P.until(() => P.bridge.stats().confirmed === 3, 'confirmed'));
      assert(JSON.stringify(written(ts)) === '[1,2,3]', `server got ${JSON.stringify(written(ts))}`);
    });
  } finally {
    await srv.stop();
  }
}
