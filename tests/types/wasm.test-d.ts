// Type tests of @aimdb/wasm (tsc --noEmit -p tests/types): what must check, and, on each
// `@ts-expect-error` line, what must not. Never run.
import init, { initSync, AimDbError, type ErrorCode, type GpsLocation, type Humidity, type Setpoint, type Temperature } from '@aimdb/wasm';

// ---- init / initSync: every form, nothing else
export async function loading(bytes: Uint8Array, module: WebAssembly.Module): Promise<void> {
  await init();
  await init({ module_or_path: new URL('file:///x.wasm') });
  await init({ module_or_path: fetch('/x.wasm') });
  await init(bytes);
  initSync(bytes);
  initSync(module);
  initSync({ module: bytes });
  // @ts-expect-error initSync needs an argument
  initSync();
  // (WebAssembly.Module is an empty interface in lib.dom: any non-null object or string
  // passes as one, so misspelt object forms cannot be caught by types.)
}

// ---- AimDbError: the declared constructor is the runtime one ({ code, message, ...fields })
export function errors(): AimDbError {
  const e = new AimDbError({ code: 'UNKNOWN_KEY', message: 'no such record', key: 'a.b' });
  const code: ErrorCode = e.code;
  const key: string | undefined = e.key;
  void code, key;
  // @ts-expect-error the constructor takes { code, message }, not a message string
  new AimDbError('no such record');
  // @ts-expect-error not an error code
  new AimDbError({ code: 'NO_SUCH_CODE', message: 'x' });
  // @ts-expect-error code is required
  new AimDbError({ message: 'x' });
  return e;
}

// ---- the built-in contracts' types are exported
export const contracts: [Temperature, Humidity, GpsLocation, Setpoint] = [
  { schema_version: 2, celsius: 21, timestamp: 1 },
  { percent: 40, timestamp: 1 },
  { latitude: 48.2, longitude: 16.4, timestamp: 1 },
  { target_celsius: 21, timestamp: 1 },
];
// @ts-expect-error celsius is a number
export const hot: Temperature = { schema_version: 2, celsius: 'hot', timestamp: 1 };

// ---- WsBridge: the WebSocket option takes a constructor (e.g. the `ws` package's in Node)
import { WasmDb, WsBridge } from '@aimdb/wasm';
class NodeWebSocket {
  binaryType = 'nodebuffer';
  constructor(readonly url: string, readonly protocols?: string | string[]) {}
}
export function bridgeInNode(db: WasmDb): WsBridge {
  // @ts-expect-error a constructor, not a package name
  WsBridge.connect(db, 'ws://127.0.0.1:1/ws', { WebSocket: 'ws' });
  return WsBridge.connect(db, 'ws://127.0.0.1:1/ws', { WebSocket: NodeWebSocket });
}
