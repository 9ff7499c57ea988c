// A misbehaving WebSocket server for the WsBridge tests (where the real AimDB server
// cannot be made to misbehave): it speaks the same wire protocol (subscribe ->
// subscribed, ping -> pong, writes logged) and breaks it on request.
//
//   import { startHostile } from './hostile.mjs';
//   const h = await startHostile();   // h.port; h.close()
//
// A page connects to  ws://127.0.0.1:PORT/<id>?<behaviour>  where <id> names the test
// (its log) and the query says how to misbehave, per connection of that id (the first
// connection is #1):
//   destroyFirst=K   connections #1..#K are destroyed (TCP reset) right after the upgrade
//   dieAfterWrites=N connection #1 is destroyed after it read N `write` frames
//   stopReading=1    connection #1 never reads (a stuck server: pings unanswered, writes
//                    pile up in the TCP buffers)
//   send=JSON        after each `subscribe`, send these frames: a string is sent as a
//                    text frame verbatim, {"binary": n} as an n-byte binary frame,
//                    {"big": n, "topic": t} as a `data` frame of about n bytes
//   silent=1         never answer `ping` (nothing is ever sent back but `send`)
// Other connections behave. The log is served over HTTP (CORS open):
//   GET http://127.0.0.1:PORT/log/<id>  ->  { connections: [{ frames: [text, ...] }] }
// frames are the text frames the server read, in order.
import http from 'node:http';
import { WebSocketServer } from 'ws';

export async function startHostile() {
  const logs = new Map(); // id -> { connections: [{ frames }] }
  const server = http.createServer((req, res) => {
    const m = /^\/log\/([^/?]+)/.exec(req.url ?? '');
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(logs.get(m[1]) ?? { connections: [] }));
  });
  const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 * 1024 });
  wss.on('connection', (ws, req) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const id = u.pathname.slice(1) || 'default';
    const q = u.searchParams;
    if (!logs.has(id)) logs.set(id, { connections: [] });
    const log = logs.get(id);
    const conn = { frames: [] };
    log.connections.push(conn);
    const n = log.connections.length;
    const destroy = () => ws._socket.destroy();
    if (n <= Number(q.get('destroyFirst') ?? 0)) {
      destroy();
      return;
    }
    const dieAfter = n === 1 ? Number(q.get('dieAfterWrites') ?? 0) : 0;
    const silent = q.get('silent') === '1';
    const send = JSON.parse(q.get('send') ?? '[]');
    let writes = 0;
    let dead = false;
    ws.on('error', () => {});
    if (n === 1 && q.get('stopReading') === '1') {
      ws._socket.pause();
      return;
    }
    ws.on('message', (data, isBinary) => {
      if (dead) return;
      const text = isBinary ? `<binary ${data.length}>` : data.toString();
      conn.frames.push(text);
      let msg = {};
      try {
        msg = JSON.parse(text);
      } catch {}
      if (msg.type === 'write') {
        writes++;
        if (dieAfter > 0 && writes >= dieAfter) {
          dead = true;
          destroy();
        }
      } else if (msg.type === 'ping' && !silent) {
        ws.send('{"type":"pong"}');
      } else if (msg.type === 'subscribe') {
        if (!silent) ws.send(JSON.stringify({ type: 'subscribed', topics: msg.topics }));
        for (const f of send) {
          if (typeof f === 'string') ws.send(f);
          else if (f.binary !== undefined) ws.send(Buffer.alloc(f.binary, 1), { binary: true });
          else if (f.big !== undefined) {
            const pad = 'x'.repeat(f.big);
            ws.send(`{"type":"data","topic":${JSON.stringify(f.topic)},"payload":{"pad":"${pad}"},"ts":1}`);
          }
        }
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c._socket?.destroy();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
