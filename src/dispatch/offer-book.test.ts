import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Offer, OfferBook } from './offer-book.ts';

const offer = (id: string, orderId: string, courierId: string, zone = 'z1', inMs = 60_000): Offer => ({
  offer_id: id,
  courier_id: courierId,
  order_id: orderId,
  zone,
  expires_at: Date.now() + inMs,
  pickup: { restaurant_id: 'r', name: 'R', lat: 0, lng: 0 },
  dropoff: { lat: 0, lng: 0, address: 'A' },
  pickup_km: 1,
  delivery_km: 1,
});

describe('offer book', () => {
  it('holds the order and the courier of an open offer until it closes, answered or not', () => {
    const book = new OfferBook();
    book.open(offer('o1', 'order1', 'c1'), () => assert.fail('expired'));
    assert.ok(book.hasOrder('order1') && book.hasCourier('c1') && book.awaitingAnswer('o1'));
    book.answered('o1');
    assert.ok(book.hasOrder('order1') && book.hasCourier('c1'), 'still held while the acceptance is written');
    assert.equal(book.awaitingAnswer('o1'), false, 'a second answer is not acted on');
    assert.equal(book.close('o1')?.order_id, 'order1');
    assert.ok(!book.hasOrder('order1') && !book.hasCourier('c1') && book.size === 0);
    assert.equal(book.close('o1'), undefined, 'closing twice closes once');
  });

  it('remembers who refused an order until the order no longer waits in its zone', () => {
    const book = new OfferBook();
    book.open(offer('o1', 'order1', 'c1'), () => {});
    book.open(offer('o2', 'order2', 'c2', 'z2'), () => {});
    book.close('o1', true);
    book.close('o2', true);
    assert.ok(book.refused('order1', 'c1') && !book.refused('order1', 'c2'));
    book.forgetRefusals('z1', new Set(['order1']));
    assert.ok(book.refused('order1', 'c1'), 'still waiting: still refused');
    book.forgetRefusals('z1', new Set());
    assert.ok(!book.refused('order1', 'c1'));
    assert.ok(book.refused('order2', 'c2'), 'another zone is left alone');
  });

  it('calls back at expiry unless answered first', async () => {
    const book = new OfferBook();
    const expired: string[] = [];
    book.open(offer('o1', 'order1', 'c1', 'z1', 20), (o) => expired.push(o.offer_id));
    book.open(offer('o2', 'order2', 'c2', 'z1', 20), (o) => expired.push(o.offer_id));
    book.answered('o2');
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(expired, ['o1']);
    assert.deepEqual(book.inZone('z1').map((o) => o.offer_id).sort(), ['o1', 'o2'], 'the callback decides what expiry closes');
  });
});
