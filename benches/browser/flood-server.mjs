// The flood server (benches/browser/flood.mjs, make demo): a local WebSocket server (the `ws`
// package) speaking enough of the AimDB protocol (subscribe -> subscribed, ping -> pong) to
// send every subscriber N data frames of topic bench/flood (temperature payloads, timestamps
// 1..N) as fast as the socket takes them, 1000 per turn of Node's event loop.
import { WebSocketServer } from 'ws';

/** The flood server: on a client's subscribe, `subscribed`, then N data frames at once. */
export function startFloodServer(n) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data) => {
      let m;
      try {
        m = JSON.parse(String(data));
      } catch {
        return;
      }
      if (m.type === 'ping') ws.send('{"type":"pong"}');
      if (m.type !== 'subscribe') return;
      ws.send(JSON.stringify({ type: 'subscribed', topics: m.topics }));
      let i = 0;
      const burst = () => {
        // As fast as the socket takes them: 1000 frames per turn of Node's loop.
        for (let k = 0; k < 1000 && i < n && ws.readyState === ws.OPEN; k++, i++) {
          const ts = i + 1;
          ws.send(`{"type":"data","topic":"bench/flood","payload":{"schema_version":2,"celsius":${(i % 100) / 10},"timestamp":${ts}},"ts":${ts}}`);
        }
        if (i < n && ws.readyState === ws.OPEN) setImmediate(burst);
      };
      burst();
    });
  });
  return new Promise((resolve) => wss.on('listening', () => resolve({ url: `ws://127.0.0.1:${wss.address().port}/ws`, close: () => new Promise((r) => wss.close(r)) })));
}
