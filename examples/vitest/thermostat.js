// App code under test (examples/vitest/thermostat.test.js): a thermostat that watches a room's
// temperature record and writes a setpoint command when the room is too cold.
// Nothing here knows about tests: it takes the WasmDb it is given.

/**
 * Configures the room's records and starts watching.
 * @param {import('@aimdb/wasm').WasmDb} db
 * @param {{ room: string, target: number, hysteresis?: number }} options
 * @returns {() => void} stops the thermostat
 */
export function startThermostat(db, { room, target, hysteresis = 0.5 }) {
  const temperature = `sensors.temperature.${room}`;
  const setpoint = `commands.setpoint.${room}`;
  // A ring: every reading is seen, in order, even several within one tick.
  db.configureRecord(temperature, { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 } });
  db.configureRecord(setpoint, { schemaType: 'setpoint', link: 'out' });
  let heating = false;
  return db.subscribe(temperature, (t) => {
    if (!heating && t.celsius < target - hysteresis) {
      heating = true;
      db.set(setpoint, { target_celsius: target, timestamp: t.timestamp });
    } else if (heating && t.celsius >= target) {
      heating = false;
      db.set(setpoint, { target_celsius: target - 3, timestamp: t.timestamp });
    }
  });
}
