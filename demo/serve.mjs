// `make demo`: builds and starts the AimDB test server (tests/server, via
// tests/js/server.mjs), serves the repository root on 127.0.0.1, prints the demo URL
// and runs until Ctrl-C, which stops everything it started.
import { startServer } from '../tests/js/server.mjs';
import { startStatic } from './static.mjs';
import { startFloodServer } from '../benches/browser/flood-server.mjs';

console.log('make demo: building/starting the AimDB server (tests/server)…');
const aimdb = await startServer();
const web = await startStatic();
const flood = await startFloodServer(100_000); // the Engine card's flood button
const page = `${web.url}/demo/?ws=${aimdb.url}&flood=${flood.url}`;
console.log(`
  AimDB demo
    page (live data from the server):  ${page}
    the same, engine in a Worker:      ${page}&worker
    page (simulated sources only):     ${web.url}/demo/?local
    AimDB server:                      ${aimdb.url}

  Ctrl-C stops the page server and the AimDB server.
`);

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`\nmake demo: ${signal}, stopping…`);
  await Promise.allSettled([aimdb.stop(), web.close(), flood.close()]);
  process.exit(0);
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGHUP', () => shutdown('SIGHUP'));
