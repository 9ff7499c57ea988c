// The ingest fast path of WsBridge (bindings/src/js/bridge/ingest.rs): the socket's
// onmessage. A `data` frame in the layout the server writes, for a record whose contract
// takes flat values, is taken here: its payload alone is JSON.parse'd into flat slots
// (flatEncode), and Rust gets the socket, the record's number and the slots (no frame
// text copied into wasm, nothing parsed twice). Any other event goes to the transport's
// own handler (`old`) as it came, with nothing done yet: a frame this path declines is
// handled exactly as before (same errors, counters and messages).
import { flatEncode } from './values.js';

const HEAD = '{"type":"data","topic":"';
const PAYLOAD = '","payload":';
/**
 * Whether every number in `d` from `i` to `end` reads the same by JSON.parse and by the
 * Rust text way: none has an exponent, an all-zero fraction (`5.0`: an integer field
 * refuses it there, JSON.parse makes it 5) or more than 15 digits (serde_json's parser
 * rounds twice then: bindings/src/flat.rs tests). Digits in strings count too (such a
 * frame only goes the old way). A loop over the frame itself: a regex, or a loop over a
 * slice, costs about as much as parsing the payload.
 */
function plainNumbers(d, i, end) {
  let digits = 0;
  // In a fraction: whether a digit other than 0 came (-1: not in a fraction).
  let nonZero = -1;
  for (; i < end; i++) {
    const c = d.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 15) return false;
      if (c !== 48 && nonZero === 0) nonZero = 1;
    } else if (digits === 0) {
      // Not in a number: nothing to check.
    } else if (c === 46 && nonZero === -1) {
      nonZero = 0;
    } else {
      if (nonZero === 0 || (c | 32) === 101) return false;
      digits = 0;
      nonZero = -1;
    }
  }
  return nonZero !== 0;
}

/** What ends a topic in the server layout the Rust frame parser reads (bridge/src/frame.rs). */
const ODD = /[\\\u0000-\u001f]/;

/**
 * The `wrap(conn, old)` the transport calls for each socket (web.rs `wrap_messages`), for
 * one bridge: `ingest(conn, record, slots)` hands a parsed value to Rust (false: declined,
 * nothing done), `route(topic)` is `[record, fields]` or undefined, `maxUnits` the longest
 * frame (in UTF-16 units) that is surely under maxFrameBytes.
 */
export function makeIngest(ingest, route, maxUnits) {
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
    // `,"ts":N}` at the end, N at most 19 digits (a u64), no leading zero.
    const end = d.length - 1;
    let k = end;
    let c;
    while (k > p && (c = d.charCodeAt(k - 1)) >= 48 && c <= 57) k--;
    const n = end - k;
    if (d.charCodeAt(end) !== 125 || n === 0 || n > 19 || (n > 1 && d.charCodeAt(k) === 48) || !d.startsWith(',"ts":', k - 6)) {
      return old(e);
    }
    // One object between: `{...}` that JSON.parse takes whole.
    const t = k - 6;
    if (d.charCodeAt(p) !== 123 || d.charCodeAt(t - 1) !== 125) return old(e);
    if (!plainNumbers(d, p, t)) return old(e);
    let v;
    try {
      v = JSON.parse(d.slice(p, t));
    } catch {
      return old(e);
    }
    const fields = r[1];
    if (!flatEncode(v, fields) || !ingest(conn, r[0], fields.length)) old(e);
  };
}
