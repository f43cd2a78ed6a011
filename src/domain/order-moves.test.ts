import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Actor, type ActorRole, SYSTEM } from './identity.ts';
import { type Decision, type EventKind, type MoveIntent, type OrderSnapshot, decideMove, isLegalStep } from './order-moves.ts';
import { ORDER_STATUSES, type OrderStatus, PAYMENT_STATES } from './order-status.ts';

const COURIER = 'courier-1';
const ROLES_ACTING = ['customer', 'restaurant', 'courier', 'admin', 'system'] as const satisfies readonly ActorRole[];
const ACTOR: Record<ActorRole, Actor> = {
  customer: { id: 'customer-1', role: 'customer' },
  restaurant: { id: 'owner-1', role: 'restaurant' },
  courier: { id: COURIER, role: 'courier' },
  admin: { id: 'admin-1', role: 'admin' },
  system: SYSTEM,
};
const TERMINAL = ['delivered', 'payment_failed', 'rejected', 'cancelled'] as const satisfies readonly OrderStatus[];

/** An order after checkout: payment authorised, the acting courier assigned. */
const order = (over: Partial<OrderSnapshot> = {}): OrderSnapshot =>
  ({ id: 'order-1', status: 'placed', version: 7, payment_state: 'authorized', courier_id: COURIER, ...over });
const outcome = (d: Decision) => (d.ok ? 'ok' : d.refusal.code);
const move = (from: OrderStatus, to: OrderStatus, role: ActorRole, over: Partial<OrderSnapshot> = {}) =>
  outcome(decideMove(order({ status: from, ...over }), { to }, ACTOR[role]));
const assign = (from: OrderStatus, role: ActorRole, over: Partial<OrderSnapshot> = {}) =>
  outcome(decideMove(order({ status: from, ...over }), { assign: 'courier-2' }, ACTOR[role]));

/**
 * Every step an order may take and who may take it, written out by hand from the product's rules
 * (not read from TRANSITIONS, so a change to the state machine shows up here).
 */
const ALLOWED: Record<string, readonly ActorRole[]> = {
  'placed→confirmed': ['restaurant', 'admin', 'system'],
  'placed→payment_failed': ['system'],
  'placed→rejected': ['restaurant', 'admin', 'system'],
  'placed→cancelled': ['customer', 'admin', 'system'],
  'confirmed→preparing': ['restaurant', 'admin'],
  'confirmed→cancelled': ['customer', 'restaurant', 'admin', 'system'],
  'preparing→ready': ['restaurant', 'admin'],
  'preparing→cancelled': ['restaurant', 'admin', 'system'],
  'ready→picked_up': ['courier', 'admin'],
  // Food nobody came for: given up past the pickup deadline, or by an admin.
  'ready→cancelled': ['admin', 'system'],
  'picked_up→delivered': ['courier', 'admin'],
};

describe('decideMove: status moves after checkout', () => {
  it('every (from, to, role) is allowed exactly as the hand-written table says, refused as illegal or forbidden otherwise', () => {
    for (const from of ORDER_STATUSES) {
      for (const to of ORDER_STATUSES) {
        const roles = ALLOWED[`${from}→${to}`];
        for (const role of ROLES_ACTING) {
          const expected = roles === undefined ? 'illegal' : roles.includes(role) ? 'ok' : 'forbidden';
          assert.equal(move(from, to, role), expected, `${role}: ${from} → ${to}`);
        }
      }
    }
  });

  it('the happy path is taken by the restaurant, then the assigned courier', () => {
    assert.equal(move('placed', 'confirmed', 'restaurant'), 'ok');
    assert.equal(move('confirmed', 'preparing', 'restaurant'), 'ok');
    assert.equal(move('preparing', 'ready', 'restaurant'), 'ok');
    assert.equal(move('ready', 'picked_up', 'courier'), 'ok');
    assert.equal(move('picked_up', 'delivered', 'courier'), 'ok');
  });

  it('a customer may cancel a placed or confirmed order, not one being prepared or ready (forbidden); a ready one only the system or an admin', () => {
    assert.equal(move('placed', 'cancelled', 'customer'), 'ok');
    assert.equal(move('confirmed', 'cancelled', 'customer'), 'ok');
    assert.equal(move('preparing', 'cancelled', 'customer'), 'forbidden');
    assert.equal(move('ready', 'cancelled', 'customer'), 'forbidden');
    assert.equal(move('ready', 'cancelled', 'restaurant'), 'forbidden');
    assert.equal(move('ready', 'cancelled', 'system'), 'ok');
    assert.equal(move('ready', 'cancelled', 'admin'), 'ok');
    assert.equal(move('picked_up', 'cancelled', 'admin'), 'illegal');
  });

  it('only the system may fail a payment', () => {
    for (const role of ['customer', 'restaurant', 'courier', 'admin'] as const) assert.equal(move('placed', 'payment_failed', role), 'forbidden');
    assert.equal(move('placed', 'payment_failed', 'system'), 'ok');
    assert.equal(move('confirmed', 'payment_failed', 'system'), 'illegal');
  });

  it('a terminal order goes nowhere, whoever asks', () => {
    for (const from of TERMINAL) {
      for (const to of ORDER_STATUSES) for (const role of ROLES_ACTING) assert.equal(move(from, to, role), 'illegal', `${role}: ${from} → ${to}`);
    }
  });

  it('no status moves to itself, and none skips a step', () => {
    for (const s of ORDER_STATUSES) assert.equal(move(s, s, 'admin'), 'illegal', s);
    assert.equal(move('placed', 'preparing', 'admin'), 'illegal');
    assert.equal(move('confirmed', 'ready', 'admin'), 'illegal');
    assert.equal(move('preparing', 'picked_up', 'admin'), 'illegal');
    assert.equal(move('ready', 'delivered', 'courier'), 'illegal');
    assert.equal(move('delivered', 'placed', 'system'), 'illegal');
  });
});

describe('decideMove: refusals beyond the state machine', () => {
  it('a courier who is not the one assigned is refused as not_assigned, also when nobody is assigned', () => {
    assert.equal(move('ready', 'picked_up', 'courier', { courier_id: 'courier-2' }), 'not_assigned');
    assert.equal(move('picked_up', 'delivered', 'courier', { courier_id: 'courier-2' }), 'not_assigned');
    assert.equal(move('ready', 'picked_up', 'courier', { courier_id: null }), 'not_assigned');
    assert.equal(move('ready', 'delivered', 'courier', { courier_id: 'courier-2' }), 'illegal', 'an illegal step says so first');
  });

  it('while checkout runs, every person is refused as checkout_running and the system decides', () => {
    const running = { payment_state: 'pending' } as const;
    for (const to of ORDER_STATUSES) {
      for (const role of ['customer', 'restaurant', 'courier', 'admin'] as const) assert.notEqual(move('placed', to, role, running), 'ok', `${role} → ${to}`);
    }
    for (const to of ['rejected', 'cancelled'] as const) {
      for (const role of ALLOWED[`placed→${to}`]!) assert.equal(move('placed', to, role, running), role === 'system' ? 'ok' : 'checkout_running', `${role} → ${to}`);
    }
    assert.equal(move('placed', 'confirmed', 'restaurant', running), 'checkout_running');
    assert.equal(move('placed', 'confirmed', 'admin', running), 'checkout_running');
    assert.equal(move('placed', 'payment_failed', 'system', running), 'ok');
    assert.equal(move('placed', 'cancelled', 'courier', running), 'forbidden', 'a role that may never do it is told so');
    assert.equal(move('confirmed', 'cancelled', 'customer', running), 'ok', 'only a placed order can have checkout running');
  });

  it('while checkout runs, nobody may assign a courier, not even an admin or the system', () => {
    assert.equal(assign('placed', 'admin', { payment_state: 'pending' }), 'checkout_running');
    assert.equal(assign('placed', 'system', { payment_state: 'pending' }), 'checkout_running');
  });

  it('confirming needs an authorised payment, even for the system', () => {
    for (const payment_state of ['declined', 'unknown', 'voided', 'captured'] as const) {
      assert.equal(move('placed', 'confirmed', 'restaurant', { payment_state }), 'payment_not_authorized', payment_state);
      assert.equal(move('placed', 'confirmed', 'admin', { payment_state }), 'payment_not_authorized', payment_state);
    }
    assert.equal(move('placed', 'confirmed', 'system', { payment_state: 'pending' }), 'payment_not_authorized');
    assert.equal(move('placed', 'rejected', 'restaurant', { payment_state: 'declined' }), 'ok', 'only confirming needs it');
  });

  it('picking up needs a courier, even for an admin', () => {
    assert.equal(move('ready', 'picked_up', 'admin', { courier_id: null }), 'no_courier');
    assert.equal(move('ready', 'picked_up', 'admin', { courier_id: 'courier-2' }), 'ok');
  });
});

describe('decideMove: assigning a courier', () => {
  it('only an admin or the system may assign, until the food leaves the restaurant', () => {
    for (const from of ['placed', 'confirmed', 'preparing', 'ready'] as const) {
      for (const role of ROLES_ACTING) assert.equal(assign(from, role), role === 'admin' || role === 'system' ? 'ok' : 'forbidden', `${role} in ${from}`);
    }
    for (const from of ['picked_up', ...TERMINAL] as const) {
      assert.equal(assign(from, 'admin'), 'illegal', from);
      assert.equal(assign(from, 'system'), 'illegal', from);
    }
    assert.equal(assign('ready', 'admin', { courier_id: null }), 'ok', 'a first assignment');
  });

  it('an assignment keeps the status, names the courier and owes no follow-ups', () => {
    const decision = decideMove(order({ status: 'preparing' }), { assign: 'courier-2' }, ACTOR.admin, 'closer');
    assert.ok(decision.ok);
    assert.deepEqual({ ...decision.move }, {
      orderId: 'order-1', fromVersion: 7, from: 'preparing', to: 'preparing', kind: 'courier_assigned',
      courierId: 'courier-2', actor: ACTOR.admin, reason: 'closer', followUpsOwed: false,
    });
  });

  it('a release gives an order not yet picked up back to dispatch: only by its assigners, only from the courier holding it', () => {
    const release = (from: OrderStatus, role: ActorRole, courier = COURIER, over: Partial<OrderSnapshot> = {}) =>
      outcome(decideMove(order({ status: from, ...over }), { unassign: courier }, ACTOR[role]));
    for (const from of ['confirmed', 'preparing', 'ready'] as const) {
      assert.equal(release(from, 'system'), 'ok', from);
      assert.equal(release(from, 'admin'), 'ok', from);
      assert.equal(release(from, 'courier'), 'forbidden', from);
      assert.equal(release(from, 'restaurant'), 'forbidden', from);
    }
    assert.equal(release('picked_up', 'system'), 'illegal', 'food in the bag stays with its courier');
    assert.equal(release('delivered', 'system'), 'illegal');
    assert.equal(release('ready', 'system', 'courier-2'), 'not_assigned', 'assigned to someone else since');
    assert.equal(release('ready', 'system', COURIER, { courier_id: null }), 'not_assigned', 'already released');
    const decision = decideMove(order({ status: 'ready' }), { unassign: COURIER }, SYSTEM, 'courier_off_shift');
    assert.ok(decision.ok);
    assert.deepEqual({ ...decision.move }, {
      orderId: 'order-1', fromVersion: 7, from: 'ready', to: 'ready', kind: 'courier_unassigned',
      courierId: COURIER, actor: SYSTEM, reason: 'courier_off_shift', followUpsOwed: false,
    });
  });

  it('a status move names no courier and owes its follow-ups; with no reason given the reason is null', () => {
    const decision = decideMove(order({ status: 'confirmed', version: 12 }), { to: 'preparing' }, ACTOR.restaurant);
    assert.ok(decision.ok);
    assert.deepEqual({ ...decision.move }, {
      orderId: 'order-1', fromVersion: 12, from: 'confirmed', to: 'preparing', kind: 'status',
      courierId: null, actor: ACTOR.restaurant, reason: null, followUpsOwed: true,
    });
  });

  it('a refusal names the status the order is in, and carries no move', () => {
    const decision = decideMove(order({ status: 'picked_up' }), { to: 'cancelled' }, ACTOR.customer, 'late');
    assert.equal(decision.ok, false);
    assert.ok(!('move' in decision));
    assert.equal(decision.refusal.current_status, 'picked_up');
    assert.equal(decision.refusal.code, 'illegal');
    assert.match(decision.refusal.detail, /picked_up/);
  });
});

describe('isLegalStep: reading an event log', () => {
  const step = (kind: EventKind, from: OrderStatus | null, to: OrderStatus, role: ActorRole) => ({ kind, from, to, role });

  it('accepts every move decideMove allows, as a step from the status it was decided from', () => {
    const intents: MoveIntent[] = [...ORDER_STATUSES.map((to) => ({ to })), { assign: 'courier-2' }, { unassign: 'courier-1' }];
    let allowed = 0;
    for (const from of ORDER_STATUSES) {
      for (const intent of intents) {
        for (const role of ROLES_ACTING) {
          const d = decideMove(order({ status: from }), intent, ACTOR[role]);
          if (!d.ok) continue;
          allowed++;
          assert.ok(isLegalStep(from, step(d.move.kind, d.move.from, d.move.to, role)), `${role}: ${JSON.stringify(intent)} from ${from}`);
        }
      }
    }
    assert.equal(allowed, Object.values(ALLOWED).flat().length + 2 * 4 * 2, 'every allowed cell of the table, and 4 statuses × 2 assigners, assigning and releasing');
  });

  it('rejects a step that does not start where the previous one ended', () => {
    assert.equal(isLegalStep('confirmed', step('status', 'placed', 'confirmed', 'restaurant')), false);
    assert.equal(isLegalStep('placed', step('status', null, 'placed', 'customer')), false);
    assert.equal(isLegalStep('ready', step('courier_assigned', 'preparing', 'preparing', 'admin')), false);
  });

  it('rejects an illegal jump, a forbidden actor and a status that stays put', () => {
    assert.equal(isLegalStep('placed', step('status', 'placed', 'ready', 'admin')), false);
    assert.equal(isLegalStep('preparing', step('status', 'preparing', 'cancelled', 'customer')), false);
    assert.equal(isLegalStep('ready', step('status', 'ready', 'ready', 'admin')), false);
    assert.equal(isLegalStep('preparing', step('status', 'preparing', 'ready', 'restaurant')), true);
  });

  it('rejects an assignment after pick-up, by a person who may not assign, or one that changes the status', () => {
    assert.equal(isLegalStep('picked_up', step('courier_assigned', 'picked_up', 'picked_up', 'admin')), false);
    assert.equal(isLegalStep('cancelled', step('courier_assigned', 'cancelled', 'cancelled', 'system')), false);
    assert.equal(isLegalStep('ready', step('courier_assigned', 'ready', 'ready', 'restaurant')), false);
    assert.equal(isLegalStep('ready', step('courier_assigned', 'ready', 'picked_up', 'admin')), false);
    assert.equal(isLegalStep('ready', step('courier_assigned', 'ready', 'ready', 'admin')), true);
  });

  it('for any order, intent and actor, an allowed move is a legal step and a refused one leaves no move', () => {
    const couriers = ['courier-1', 'courier-2'];
    const snapshot = fc.record({
      id: fc.constant('order-1'),
      status: fc.constantFrom(...ORDER_STATUSES),
      version: fc.nat(),
      payment_state: fc.constantFrom(...PAYMENT_STATES),
      courier_id: fc.option(fc.constantFrom(...couriers), { nil: null }),
    });
    const intent = fc.oneof(fc.constantFrom(...ORDER_STATUSES).map((to): MoveIntent => ({ to })), fc.constantFrom(...couriers).map((c): MoveIntent => ({ assign: c })));
    const actor = fc.oneof(
      fc.constant(SYSTEM),
      fc.record({ id: fc.constantFrom(...couriers, 'someone'), role: fc.constantFrom('customer', 'restaurant', 'courier', 'admin') }),
    );
    fc.assert(
      fc.property(snapshot, intent, actor, (o, i, a) => {
        const d = decideMove(o, i, a);
        if (!d.ok) {
          assert.ok(!('move' in d));
          assert.equal(d.refusal.current_status, o.status);
          return;
        }
        assert.ok(isLegalStep(o.status, { kind: d.move.kind, from: d.move.from, to: d.move.to, role: a.role }));
        assert.equal(d.move.fromVersion, o.version);
        assert.equal(d.move.courierId, 'assign' in i ? i.assign : null);
      }),
      { seed: 4242, numRuns: 2000 },
    );
  });
});
