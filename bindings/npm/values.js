// Values and names on their way into wasm: key checks, JSON text of values and options,
// typed errors that never throw themselves, and deep-freezing what comes out.
import { AimDbError, raw } from './runtime.js';

/** Longest record key or schema name, in bytes of UTF-8 (aimdb-core never frees a record key);
 * `MAX_KEY_BYTES` in bindings/src/js/options.rs. Checked before a key enters wasm memory. */
export const MAX_KEY_BYTES = 1024;

// ---- The flat way out (bindings/src/js/flat_out.rs): a struct of numbers and nulls
// arrives as numbers, and its object is made here with the field names of its shape.
const shapes = [];

/** Registers the field names of a new shape (its id is its index). */
export function flatShape(names) {
  shapes.push(names);
}

/** The frozen object of shape `id`: field `i` is null where bit `i` of `nulls` is set, else `a_i`. */
export function flatBuild(id, nulls, a0, a1, a2, a3, a4, a5, a6, a7) {
  const f = shapes[id];
  const o = {};
  const n = f.length;
  // Unrolled: no arguments array; a field's value is its argument, or null.
  if (n > 0) o[f[0]] = nulls & 1 ? null : a0;
  if (n > 1) o[f[1]] = nulls & 2 ? null : a1;
  if (n > 2) o[f[2]] = nulls & 4 ? null : a2;
  if (n > 3) o[f[3]] = nulls & 8 ? null : a3;
  if (n > 4) o[f[4]] = nulls & 16 ? null : a4;
  if (n > 5) o[f[5]] = nulls & 32 ? null : a5;
  if (n > 6) o[f[6]] = nulls & 64 ? null : a6;
  if (n > 7) o[f[7]] = nulls & 128 ? null : a7;
  return Object.freeze(o);
}

/**
 * The frozen array of a batch of flat values (flat_out.rs `many_to_js`): the `len` f64s
 * at `ptr` in wasm memory hold, per item, its shape id, then its fields (`NaN`: null).
 */
export function flatBuildMany(ptr, len, count) {
  if (mem === null) mem = raw.wasmMemory();
  const s = new Float64Array(mem.buffer, ptr, len);
  const out = new Array(count);
  let p = 0;
  for (let i = 0; i < count; i++) {
    const f = shapes[s[p]];
    const o = {};
    const n = f.length;
    let x;
    // Unrolled as in flatBuild: each store sees one name per shape; NaN is null.
    if (n > 0) o[f[0]] = (x = s[p + 1]) === x ? x : null;
    if (n > 1) o[f[1]] = (x = s[p + 2]) === x ? x : null;
    if (n > 2) o[f[2]] = (x = s[p + 3]) === x ? x : null;
    if (n > 3) o[f[3]] = (x = s[p + 4]) === x ? x : null;
    if (n > 4) o[f[4]] = (x = s[p + 5]) === x ? x : null;
    if (n > 5) o[f[5]] = (x = s[p + 6]) === x ? x : null;
    if (n > 6) o[f[6]] = (x = s[p + 7]) === x ? x : null;
    if (n > 7) o[f[7]] = (x = s[p + 8]) === x ? x : null;
    p += n + 1;
    out[i] = Object.freeze(o);
  }
  return Object.freeze(out);
}

export function deepFreeze(v) {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    // Arrays out of wasm or JSON.parse have only their items: no index strings made.
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) deepFreeze(v[i]);
    else for (const k of Object.keys(v)) deepFreeze(v[k]);
    Object.freeze(v);
  }
  return v;
}

/**
 * `subscribe`'s checked arguments (WasmDb and the Worker-mode db): INVALID_OPTIONS for a
 * callback that is not a function or options whose getters throw.
 */
export function subscribeOptions(key, callback, options) {
  if (typeof callback !== 'function') {
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `subscribe: callback must be a function, got ${describeValue(callback)}`, key });
  }
  let batch, onError, onLag;
  try {
    const opts = options ?? {};
    batch = opts.batch === true;
    onError = typeof opts.onError === 'function' ? opts.onError : undefined;
    onLag = typeof opts.onLag === 'function' ? opts.onLag : undefined;
  } catch (e) {
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid subscribe options: reading them threw: ${thrownText(e)}`, key, cause: e });
  }
  return { batch, onError, onLag };
}

/**
 * Reports what a callback of `who` on `key` threw: to `onError`, else (or if onError throws)
 * console.error once per kind (`reported` holds the kinds seen). Never throws itself, whatever
 * was thrown (a value whose getters throw included): a throw here would break a tick or lose
 * the handle.
 */
export function reporter(reported, key, onError, who) {
  return (error) => {
    if (onError) {
      try {
        onError(error);
        return;
      } catch (e) {
        error = e;
      }
    }
    try {
      let name = typeof error;
      try {
        if (typeof error.name === 'string') name = excerpt(error.name);
      } catch {}
      const kind = `${who}:${key}:${name}`;
      if (!reported.has(kind)) {
        reported.add(kind);
        console.error(`@aimdb/wasm: ${who} '${excerpt(key)}' threw; later errors of this kind are not logged again`, error);
      }
    } catch {}
  };
}

/** At most 200 characters of input, for an error text. */
export const excerpt = (s) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);

/** What `v` is, for an error text: short, and never throws. */
export function describeValue(v) {
  const t = typeof v;
  try {
    if (t === 'string') return JSON.stringify(excerpt(v));
    if (t === 'object') return v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object';
    if (t === 'undefined') return t;
    return t === 'function' || t === 'symbol' ? `a ${t}` : `the ${t} ${excerpt(String(v))}`;
  } catch {
    return `a ${t}`;
  }
}

/** What user code (a getter, toJSON) threw, for an error text; never throws. */
export function thrownText(e) {
  try {
    if (e instanceof Error) return excerpt(String(e.message));
  } catch {}
  return `${describeValue(e)} was thrown`;
}

/**
 * `name` if it can name a record (`what` 'record key') or a contract ('schemaType'): a
 * non-empty, well-formed string (a lone surrogate aliases another key in UTF-8) of at most
 * MAX_KEY_BYTES bytes of UTF-8. Else INVALID_KEY, naming what was given.
 */
export function checkKey(name, what = 'record key', field = 'key') {
  let problem;
  if (typeof name !== 'string') problem = `must be a string, got ${describeValue(name)}`;
  else if (name === '') problem = 'is empty';
  else if (!name.isWellFormed()) problem = 'is not well-formed UTF-16 (a lone surrogate)';
  else if (name.length > MAX_KEY_BYTES / 3 && (name.length > MAX_KEY_BYTES || new TextEncoder().encode(name).length > MAX_KEY_BYTES)) {
    problem = `is longer than ${MAX_KEY_BYTES} bytes of UTF-8`;
  } else return name;
  const shown = typeof name === 'string' ? excerpt(name) : undefined;
  throw new AimDbError({ code: 'INVALID_KEY', message: `${what} ${problem}${shown ? `: ${JSON.stringify(shown)}` : ''}`, [field]: shown });
}

/**
 * JSON text of `value`; else `fail(problem, path, cause)`'s error: for what JSON.stringify
 * throws on (BigInt, cycle, a throwing getter or toJSON) and for numbers it would write as
 * null (NaN, ±Infinity), with their path (`a.b`, `list[1]`).
 */
export function jsonText(value, fail) {
  let s;
  try {
    s = JSON.stringify(value);
  } catch (e) {
    throw fail(`not JSON-serializable: ${thrownText(e)}`, '', e);
  }
  // Only a text with a null in it can hide a non-finite number.
  if (s?.includes('null')) {
    const paths = new Map();
    let found;
    try {
      JSON.stringify(value, function (k, v) {
        if (found) return;
        const p = paths.get(this);
        const path = p === undefined ? '' : Array.isArray(this) ? `${p}[${k}]` : p ? `${p}.${k}` : k;
        if (typeof v === 'number' && !Number.isFinite(v)) found = fail(`not a finite number (${v})`, excerpt(path));
        else if (v && typeof v === 'object') paths.set(v, path);
        return v;
      });
    } catch {}
    if (found) throw found;
  }
  return s ?? 'null';
}

/** `the value` or `` `a.b` ``: where in a value a problem is. */
const at = (path, whole) => (path ? `\`${path}\`` : whole);

/** JSON text of a record value; what JSON cannot carry is a CONTRACT_VIOLATION at its path. */
export function toJson(value, key, schemaType) {
  return jsonText(value, (problem, path, cause) =>
    new AimDbError({
      code: 'CONTRACT_VIOLATION',
      message: `${key === undefined ? '' : `record \`${excerpt(key)}\`: `}${at(path, 'the value')} is ${problem}`,
      key,
      schemaType,
      path,
      serdeMessage: problem,
      cause,
    }),
  );
}

/** JSON text of options; anything malformed or JSON cannot carry is INVALID_OPTIONS. */
export function optionsJson(options, what) {
  const invalid = (message, cause) => new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid ${what}: ${message}`, cause });
  if (options == null) return '{}';
  if (typeof options !== 'object') throw invalid(`expected an object, got ${describeValue(options)}`);
  return jsonText(options, (problem, path, cause) => invalid(`${at(path, 'the options')} is ${problem}`, cause));
}

// ---- The tape: a value encoded into wasm memory for one call (bindings/src/js/tape.rs
// describes the slots). What the encoder does not take (a non-finite number, a BigInt,
// nesting deeper than 128, a getter that throws, a call made while one is encoding: a
// getter may call db.set) is passed as the JS value itself instead, read field by field.
const NUM = 3;
const STR = 4;
const ARR = 5;
const OBJ = 6;
const MAX_DEPTH = 128;
let mem = null;
let slots = null;
let cap = 0;
let pos = 0;
let strs = [];
let busy = false;
/** Interned key strings -> id (Rust's table); a key it no longer takes travels as a string. */
const keyIds = new Map();
let keysFull = false;

/** The slots, at least `need` of them, for the flat paths. A view of grown (detached)
 * memory has length 0 (cap is at least 1024): cheaper to read than the two `buffer` getters. */
function flatReady(need) {
  if (slots === null || slots.length === 0 || need > cap) {
    if (mem === null) mem = raw.wasmMemory();
    reslot(need);
  }
}

function reslot(need) {
  if (need > cap) cap = Math.max(need, 2 * cap, 1024);
  // The call may grow wasm memory: read `buffer` after it.
  const at = raw.tapePtr(cap);
  slots = new Float64Array(mem.buffer, at, cap);
}

function keySlot(k) {
  let id = keyIds.get(k);
  if (id === undefined) {
    id = keysFull ? -1 : raw.internKey(k);
    // The call may have grown wasm memory (then `slots` is detached).
    if (slots.buffer !== mem.buffer) reslot(cap);
    if (id < 0) {
      keysFull = true;
      strs.push(k);
      return -strs.length;
    }
    keyIds.set(k, id);
  }
  return id;
}

function enc(v, depth) {
  if (pos + 2 > cap) reslot(pos + 2);
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) return false;
      slots[pos] = NUM;
      slots[pos + 1] = v;
      pos += 2;
      return true;
    case 'string':
      slots[pos] = STR;
      slots[pos + 1] = strs.length;
      pos += 2;
      strs.push(v);
      return true;
    case 'boolean':
      slots[pos++] = v ? 2 : 1;
      return true;
    case 'object': {
      if (v === null) {
        slots[pos++] = 0;
        return true;
      }
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(v)) {
        const n = v.length;
        slots[pos] = ARR;
        slots[pos + 1] = n;
        pos += 2;
        for (let i = 0; i < n; i++) {
          const x = v[i];
          const t = typeof x;
          if (x === undefined || t === 'function' || t === 'symbol') {
            if (pos + 1 > cap) reslot(pos + 1);
            slots[pos++] = 0;
          } else if (!enc(x, depth + 1)) return false;
        }
        return true;
      }
      const at = pos;
      slots[at] = OBJ;
      pos += 2;
      let n = 0;
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        const x = v[k];
        const t = typeof x;
        if (x === undefined || t === 'function' || t === 'symbol') continue;
        const ks = keySlot(k);
        if (pos + 1 > cap) reslot(pos + 1);
        slots[pos++] = ks;
        if (!enc(x, depth + 1)) return false;
        n++;
      }
      slots[at + 1] = n;
      return true;
    }
    default:
      return false;
  }
}

/**
 * Encodes `value` on the tape: its length in slots (then the tape is held until
 * `tapeDone()`; `tapeStrs()` are its strings), or -1 if the value is to be passed itself.
 */
export function tapeEncode(value) {
  if (busy) return -1;
  if (mem === null) mem = raw.wasmMemory();
  if (slots === null || slots.buffer !== mem.buffer) reslot(cap);
  pos = 0;
  strs = [];
  busy = true;
  let ok = false;
  try {
    const t = typeof value;
    ok = value === undefined || t === 'function' || t === 'symbol' ? enc(null, 0) : enc(value, 0);
  } catch {
    // A getter threw: the value itself goes in, and is reported at its path.
  }
  if (!ok) {
    busy = false;
    return -1;
  }
  return pos;
}

/**
 * The flat fast path (bindings/src/flat.rs): when `value` is a plain object whose own
 * enumerable fields are all named in `fields` (the record contract's struct fields) and
 * are finite numbers, null, or undefined (which JSON leaves out), writes one slot per
 * field, NaN where the object has no number, and returns the fields that are null (bit
 * i: field i; `flat::Marks.nulls`), 0 or more. Anything else returns -1 with nothing to
 * release, and the caller takes the general path (tapeEncode), which also reports every
 * violation. Getters are read here and, after a -1, again there.
 */
export function flatEncode(value, fields) {
  if (busy) return -1;
  flatReady(fields.length);
  // A getter may call db.set: that call then takes the general path's re-entrant way.
  busy = true;
  try {
    // A getter's call may have grown wasm memory: the slots written are then elsewhere.
    return flatItem(value, fields, 0) && slots.length !== 0 ? itemNulls : -1;
  } catch {
    return -1;
  } finally {
    busy = false;
  }
}

/**
 * The tape's slots, at least `n` of them, for a caller that fills the flat slots itself
 * and then makes the wasm call that reads them (the bridge's ingest path, ingest.js): a
 * view of wasm memory, valid until the next call into wasm. null while an encoding is
 * in progress (the caller then takes its general path).
 */
export function flatSlots(n) {
  if (busy) return null;
  flatReady(n);
  return slots;
}

/**
 * `flatEncode` of every item of the array `values`, item `i` at slots `i * fields.length`;
 * true only if every item is flat.
 */
export function flatEncodeMany(values, fields) {
  if (busy) return false;
  const m = fields.length;
  const need = m * values.length;
  flatReady(need);
  // A getter may call db.set: that call then takes the general path's re-entrant way.
  busy = true;
  try {
    // (Nulls are the one-value path's only: here, a null declines.)
    for (let i = 0; i < values.length; i++) if (!flatItem(values[i], fields, i * m) || itemNulls !== 0) return false;
    // A getter's call may have grown wasm memory: the slots written are then elsewhere.
    return slots.length !== 0;
  } catch {
    return false;
  } finally {
    busy = false;
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

// The keys are those of Object.keys (what the general path reads): for-in's own keys come
// first in the same order; an inherited enumerable key declines. for-in with this
// hasOwnProperty check is what V8 compiles to field loads (no keys array per value).
// A `null` field is marked in `itemNulls` (bit i; its slot NaN): an Option field is None,
// any other refuses it (then the general path reports it), as the general path reads null.
function flatItem(value, fields, at) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const m = fields.length;
  for (let i = 0; i < m; i++) slots[at + i] = NaN;
  itemNulls = 0;
  for (const k in value) {
    if (!hasOwn.call(value, k)) return false;
    let i = 0;
    while (i < m && fields[i] !== k) i++;
    if (i === m) return false;
    const x = value[k];
    if (typeof x === 'number' && x - x === 0) slots[at + i] = x;
    else if (x === null) itemNulls |= 1 << i;
    else if (x !== undefined) return false;
  }
  return true;
}

/** Set by flatItem: bit i, field i of the item is null. */
let itemNulls = 0;

/** The strings of the tape just encoded (undefined: none). */
export const tapeStrs = () => (strs.length === 0 ? undefined : strs);

/** Releases the tape after the call that read it. */
export function tapeDone() {
  busy = false;
}
