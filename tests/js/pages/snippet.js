import init, { WasmDb } from '@aimdb/wasm';
await init();
const db = new WasmDb();                         // or new WasmDb({ tick: 'animationFrame', budgetMs: 4 })
db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature', buffer: 'SingleLatest' });
db.configureRecord('sensors.temperature.berlin', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 50 } });
db.configureRecord('sensors.humidity.vienna',   { schemaType: 'humidity',    buffer: 'SingleLatest' });
db.set('sensors.temperature.vienna', { celsius: 22.5, timestamp: Date.now() });
const temp = await db.get('sensors.temperature.vienna');   // validated object, or null before the first value
const unsub = db.subscribe('sensors.temperature.vienna', (v) => console.log(v.celsius));
unsub();
db.configureRecord('commands.setpoint.room1', { schemaType: 'setpoint', buffer: 'SingleLatest' });
db.set('commands.setpoint.room1', { target_celsius: 21.0, timestamp: Date.now() });
db.free();
