// The message protocol between a Worker-mode db in the page (worker-db.js, worker-bridge.js)
// and its dedicated Worker (worker.js), and the typed errors on both sides of it.
//
// Page -> Worker
//   { t: 'init', module, options }        once: the compiled WebAssembly.Module + the db's options (JSON text)
//   [cmd, ...]                            every later message: the commands of one page turn, in order:
//     { t: 'cfg', k, o }                  configureRecord(k, JSON o)
//     { t: 'set', k, v } / { t: 'setm', k, v }   set / setMany (v: the value(s) as the page's contract check returned them)
//     { t: 'sub', id, k } / { t: 'unsub', id }   a page subscription (always batch in the worker)
//     { t: 'tick', o }                    setTicking(JSON o)
//     { t: 'sim', id, k, o } / { t: 'endsim', id }   simulate(k, JSON o) / its stop
//     { t: 'stats' }                      put db.stats() into the next batch
//     { t: 'sync', id }                   tick now and send a batch at once, answering id
//     { t: 'ack' }                        the page took the last batch (sent at its next animation frame)
//     { t: 'bc', id, url, o }             WsBridge.connect(db, url, JSON o) as bridge id
//     { t: 'bw', id, k, v } / 'bs' | 'bu' { id, topics } / 'br' | 'bd' | 'bf' { id } / 'bq' { id, q, p, o } / 'bp' { id, q }
//                                         bridge write / subscribe / unsubscribe / reconnect / disconnect / free / query / persisted
//
// Worker -> Page
//   { t: 'ready', stats }                 the db is made; { t: 'fail', e } it could not be
//   { t: 'b', ... }                       a batch (at most one per page animation frame: the worker sends
//                                         the next only after the page's 'ack'; 'sync' answers excepted):
//     r: [[key, optionsJson, ringCapacity]]   records configured in the worker (page calls, autoConfigure)
//     m: [key, value, pageWrites, ...]     the latest value of every record that changed (flat triples);
//                                         pageWrites: the page's set/setMany/write of that key the worker had run
//     s: [[id, items, lagged, initial]]    per page subscription: new items (ring: all, else the latest),
//                                         values skipped, and (once) the current value at subscribe time
//     g: [[id, kind, arg]]                 bridge events in order: 's' status, 'e' error, 'y' synced,
//                                         'c' configured, 'q' / 'x' query answer / query error (arg [q, r]), 'p' persisted (arg q), 't' stats
//     st: DbStats                         when asked ('stats')
//     e: [error]                          errors of commands the page could not check first
//     y: [id]                             'sync' ids answered by this batch
//   { t: 'dead', e }                      a panic in the worker: the db is unusable (the worker closes itself)
//
// Errors cross as plain objects (structured clone drops an Error's own fields): errorInit()
// on one side, toError() on the other gives the same AimDbError (code and fields).
import { AimDbError } from './runtime.js';

/** WsBridge.connect(db, ...) on a Worker-mode db: bridge.js hands the call to db[IN_WORKER](url, options). */
export const IN_WORKER = Symbol.for('@aimdb/wasm.inWorker');
/** Page-internal: a bridge write through its db; a bridge event; the db died or was freed. */
export const WRITE = Symbol('write');
export const EVENT = Symbol('event');
export const DIED = Symbol('died');

const FIELDS = ['code', 'message', 'key', 'schemaType', 'path', 'serdeMessage', 'existing', 'requested', 'topic', 'serverCode', 'reason'];

/** A plain object of an error (an AimDbError's code and fields; else its name and message). */
export function errorInit(e) {
  const init = {};
  try {
    if (e && typeof e === 'object' && typeof e.code === 'string') {
      for (const f of FIELDS) if (e[f] !== undefined) init[f] = String(e[f]);
      return init;
    }
    return { code: 'WORKER_ERROR', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  } catch {
    return { code: 'WORKER_ERROR', message: 'an error that could not be read' };
  }
}

/** The AimDbError of what errorInit() made. */
export const toError = (init) => new AimDbError(init);
