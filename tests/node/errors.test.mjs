// AimDbError: the runtime constructor is the declared one (index.d.ts: AimDbErrorInit).
import test from 'node:test';
import assert from 'node:assert/strict';
import { AimDbError } from '../../pkg/index.js';

test('new AimDbError({ code, message, ...fields })', () => {
  const cause = new Error('inner');
  const e = new AimDbError({ code: 'CONTRACT_VIOLATION', message: 'bad', key: 'a.b', path: 'celsius', serdeMessage: 'x', cause, ignored: 1 });
  assert.ok(e instanceof Error && e instanceof AimDbError);
  assert.equal(e.name, 'AimDbError');
  assert.equal(e.code, 'CONTRACT_VIOLATION');
  assert.equal(e.message, 'bad');
  assert.equal(e.key, 'a.b');
  assert.equal(e.path, 'celsius');
  assert.equal(e.cause, cause);
  assert.equal('ignored' in e, false);
  assert.equal('topic' in e, false);
});

test('anything else is a TypeError that says how to call it', () => {
  for (const bad of ['message', undefined, null, {}, { message: 'no code' }]) {
    assert.throws(() => new AimDbError(bad), (e) => e instanceof TypeError && /code, message/.test(e.message), String(bad));
  }
});
