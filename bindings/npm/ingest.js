// The ingest fast path of WsBridge (bindings/src/js/bridge/ingest.rs): the socket's
// onmessage. A `data` frame in the layout the server writes
// (`{"type":"data","topic":"T","payload":{...},"ts":N}`), for a record whose contract
// takes flat values (bindings/src/flat.rs), is read here: its payload, an object of
// numbers only, goes straight into the flat slots, and Rust gets the socket, the
// record's number and the slots (no frame text copied into wasm, nothing parsed twice).
// Any other event goes to the transport's own handler (`old`) as it came, with nothing
// done yet, so a frame this path declines is handled exactly as before (same errors,
// counters and messages).
//
// What is read here must mean what the Rust text way reads from the same text
// (bridge/src/frame.rs `server_layout`, then the contract from serde_json's parse):
// - the topic has no escape or control character (then it is the text itself);
// - the payload is `{` `"field":number-or-null` (`,` ...)* `}` with no whitespace, every key a
//   field of the contract's struct (no escapes: they would not match), the last of
//   duplicate keys winning (as there);
// - a number is `-?(0|[1-9][0-9]*)(.[0-9]+)?`, at most 15 digits, no exponent and not
//   -0; one written with a fraction is marked a float (bit j of `floats`: `21.0` is 21
//   for a float field and refused by an integer field, in Rust, as the text way does): then its
//   value is one correctly rounded division (M / 10^k, M < 2^53, k <= 15: Clinger's fast
//   path, which is serde_json's and JSON.parse's result); anything longer may round
//   otherwise there (bindings/src/flat.rs tests);
// - `null` marks the field (bit j of `nulls`): an `Option` field is `None`, any other
//   refuses it, in Rust, as the text way does;
// - `ts` is 1 to 19 digits without a leading zero (a u64), the frame ends right after it.
import { flatSlots } from './values.js';

const HEAD = '{"type":"data","topic":"';
const PAYLOAD = '","payload":';
/** What ends a topic in the server layout the Rust frame parser reads. */
const ODD = /[\\\u0000-\u001f]/;
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Set by readPayload: bit j, slot j's number was written with a fraction; field j is null. */
let floats = 0;
let nulls = 0;

/**
 * Reads the payload object at `d[p]` into `slots` (one per field of `fields`, NaN where
 * absent), `floats` and `nulls`: the index just after its `}`, or -1 if it is not what this path takes.
 */
function readPayload(d, p, fields, slots) {
  const m = fields.length;
  floats = 0;
  nulls = 0;
  for (let j = 0; j < m; j++) slots[j] = NaN;
  if (d.charCodeAt(p) !== 123) return -1;
  let i = p + 1;
  let j = m - 1;
  for (;;) {
    // "field"
    if (d.charCodeAt(i) !== 34) return -1;
    const k = d.indexOf('"', i + 1);
    if (k < 0) return -1;
    const len = k - i - 1;
    // Fields come in struct order mostly: try the one after the last first.
    let n = 0;
    do {
      j = j + 1 === m ? 0 : j + 1;
      const f = fields[j];
      if (f.length === len && d.startsWith(f, i + 1)) break;
    } while (++n < m);
    if (n === m || d.charCodeAt(k + 1) !== 58) return -1;
    i = k + 2;
    const bit = 1 << j;
    let c;
    // (The last of duplicate keys wins: its marks too.)
    if (d.startsWith('null', i)) {
      slots[j] = NaN;
      nulls |= bit;
      floats &= ~bit;
      c = d.charCodeAt((i += 4));
    } else {
      nulls &= ~bit;
      // The number.
      c = d.charCodeAt(i);
      const neg = c === 45;
      if (neg) c = d.charCodeAt(++i);
      if (c < 48 || c > 57) return -1;
      let v = c - 48;
      let digits = 1;
      c = d.charCodeAt(++i);
      if (v !== 0) {
        while (c >= 48 && c <= 57) {
          v = v * 10 + (c - 48);
          digits++;
          c = d.charCodeAt(++i);
        }
      }
      let frac = 0;
      if (c === 46) {
        c = d.charCodeAt(++i);
        while (c >= 48 && c <= 57) {
          v = v * 10 + (c - 48);
          frac++;
          c = d.charCodeAt(++i);
        }
        if (frac === 0) return -1; // `1.` is not JSON
      }
      if (digits + frac > 15 || (neg && v === 0)) return -1;
      if (frac > 0) {
        v /= POW10[frac];
        floats |= bit;
      } else floats &= ~bit;
      slots[j] = neg ? -v : v;
    }
    i++;
    if (c === 125) return i;
    if (c !== 44) return -1;
  }
}

/**
 * The `wrap(conn, old)` the transport calls for each socket (web.rs `wrap_messages`), for
 * one bridge: `ingest(conn, record, len, floats, nulls)` hands a value in the flat slots to Rust (false:
 * declined, nothing done), `route(topic)` is `[record, fields]` or undefined, `maxUnits`
 * the longest frame (in UTF-16 units) surely under maxFrameBytes. `taken.frames` counts
 * the frames taken (a test hook).
 */
export function makeIngest(ingest, route, maxUnits, taken) {
  // topic -> [record, fields]: records are only appended, so a number stays valid.
  const routes = new Map();
  // The head (up to the payload) of the last frame taken, and its route.
  let head = null;
  let last;
  return (conn, old) => (e) => {
    const d = e.data;
    if (typeof d !== 'string' || d.length > maxUnits) return old(e);
    let r, p;
    if (head !== null && d.startsWith(head)) {
      r = last;
      p = head.length;
    } else {
      const q = d.startsWith(HEAD) ? d.indexOf('"', HEAD.length) : -1;
      if (q < 0 || !d.startsWith(PAYLOAD, q)) return old(e);
      const topic = d.slice(HEAD.length, q);
      r = routes.get(topic);
      if (r === undefined) {
        // Unknown or out-only topics, contracts without flat values: the old way (not
        // cached: a record may be configured later).
        if (ODD.test(topic) || (r = route(topic)) === undefined) return old(e);
        routes.set(topic, r);
      }
      p = q + PAYLOAD.length;
      head = d.slice(0, p);
      last = r;
    }
    const fields = r[1];
    const slots = flatSlots(fields.length);
    let i = slots === null ? -1 : readPayload(d, p, fields, slots);
    // `,"ts":N}` and the end.
    if (i < 0 || !d.startsWith(',"ts":', i)) return old(e);
    const t = (i += 6);
    let c = d.charCodeAt(i);
    if (c === 48) i++;
    else while (c >= 48 && c <= 57) c = d.charCodeAt(++i);
    const end = d.length - 1;
    if (i === t || i !== end || i - t > 19 || d.charCodeAt(end) !== 125 || !ingest(conn, r[0], fields.length, floats, nulls)) old(e);
    else taken.frames++;
  };
}
