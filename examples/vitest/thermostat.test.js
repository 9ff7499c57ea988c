// An app-style Vitest test on the real engine, deterministic: `tick: 'manual'` means nothing
// runs until the test calls db.tick() (one tick: every subscriber gets what was set before it),
// and the db's clock is virtual (db.advanceTime(ms) moves it). No timers, no waiting.
// Run: `make test-example` (vitest run --config examples/vitest/vitest.config.js).
import { afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import init, { WasmDb } from '@aimdb/wasm';
import { startThermostat } from './thermostat.js';

beforeAll(async () => {
  await init(); // Node: reads the package's wasm file from disk
});

let db;
beforeEach(() => {
  db = new WasmDb({ tick: 'manual' });
});
afterEach(() => db.free());

const reading = (celsius, timestamp) => db.set('sensors.temperature.kitchen', { celsius, timestamp });
const setpoint = () => db.get('commands.setpoint.kitchen');

test('a cold room gets a setpoint on the next tick, not before', () => {
  startThermostat(db, { room: 'kitchen', target: 21 });
  reading(19.0, 1);
  expect(setpoint()).toBeNull(); // set() only queues delivery: nothing ran yet
  db.tick();
  expect(setpoint()).toEqual({ target_celsius: 21, timestamp: 1 });
});

test('every reading of a tick is seen, in order (hysteresis on, then off)', () => {
  startThermostat(db, { room: 'kitchen', target: 21 });
  reading(20.8, 1); // within the hysteresis: no command
  reading(20.2, 2); // too cold: heat
  reading(21.3, 3); // warm again: back off
  db.tick();
  expect(setpoint()).toEqual({ target_celsius: 18, timestamp: 3 });
});

test('stopping the thermostat: later readings change nothing', () => {
  const stop = startThermostat(db, { room: 'kitchen', target: 21 });
  stop();
  reading(10, 1);
  db.tick();
  expect(setpoint()).toBeNull();
});

test('the virtual clock moves only when told; ticks take no virtual time', () => {
  startThermostat(db, { room: 'kitchen', target: 21 });
  expect(db.advanceTime(1500)).toBe(1500);
  reading(19, 2);
  const tick = db.tick();
  expect(tick.elapsedMs).toBe(0);
  expect(tick.polls).toBeGreaterThan(0);
  expect(db.advanceTime(500)).toBe(2000);
});
