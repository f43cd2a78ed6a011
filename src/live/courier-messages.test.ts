import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_MESSAGE_BYTES, parseClientMessage } from './courier-messages.ts';

const parse = (value: unknown) => parseClientMessage(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), false);
const codeOf = (value: unknown) => {
  const r = parse(value);
  return r.ok ? 'ok' : r.error.code;
};

describe('courier socket messages', () => {
  it('accepts each message type in its documented shape', () => {
    const offer = '6f1d9e0a-1c2b-4d3e-8f4a-5b6c7d8e9f00';
    for (const m of [
      { type: 'position', lat: 19.07, lng: 72.87 },
      { type: 'position', lat: -90, lng: 180, at: 1_700_000_000_000, accuracy_m: 12.5 },
      { type: 'accept', offer_id: offer },
      { type: 'decline', offer_id: offer },
      { type: 'move', order_id: offer, to: 'picked_up' },
      { type: 'move', order_id: offer, to: 'delivered' },
      { type: 'ping' },
    ]) {
      const r = parse(m);
      assert.ok(r.ok, JSON.stringify(m));
      assert.deepEqual(r.message, m);
    }
  });

  it('names what is wrong with a message it refuses', () => {
    assert.equal(codeOf('{"type":'), 'bad_json');
    assert.equal(codeOf('null'), 'unknown_type');
    assert.equal(codeOf('"ping"'), 'unknown_type');
    assert.equal(codeOf([{ type: 'ping' }]), 'unknown_type');
    assert.equal(codeOf({ type: '__proto__' }), 'unknown_type');
    assert.equal(codeOf({ type: 'constructor' }), 'unknown_type');
    assert.equal(codeOf({ type: 'position', lat: 91, lng: 0 }), 'invalid_message');
    assert.equal(codeOf({ type: 'position', lat: 0 }), 'invalid_message');
    assert.equal(codeOf({ type: 'position', lat: 0, lng: 0, at: -1 }), 'invalid_message');
    assert.equal(codeOf({ type: 'accept', offer_id: 'not-a-uuid' }), 'invalid_message');
    assert.equal(codeOf({ type: 'move', order_id: '6f1d9e0a-1c2b-4d3e-8f4a-5b6c7d8e9f00', to: 'cancelled' }), 'invalid_message');
    assert.equal(codeOf({ type: 'ping', courier_id: 'someone else' }), 'invalid_message');
    const detail = parse({ type: 'position', lat: 'north', lng: 0 });
    assert.ok(!detail.ok && /\/lat/.test(detail.error.detail), 'the detail says which field');
  });

  it('refuses binary frames and messages over the size limit without reading them', () => {
    const binary = parseClientMessage(Buffer.from('{"type":"ping"}'), true);
    assert.ok(!binary.ok && binary.error.code === 'binary_not_supported');
    const big = parseClientMessage(Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20), false);
    assert.ok(!big.ok && big.error.code === 'too_large');
  });
});
