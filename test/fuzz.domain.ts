/**
 * What the route fuzzer knows of dabba's rules: who should call what, from which state, and what a
 * courier's position must look like to be accepted.
 */
import fc from 'fast-check';
import { offset } from '../src/domain/geo.ts';
import { CENTER } from './helper.ts';

export const MOVES = ['accept', 'reject', 'preparing', 'ready', 'picked-up', 'delivered'];

/** The states (as the fuzzer's replenish() labels them) each move can be taken from. */
export const MOVE_FROM: Record<string, string[]> = {
  accept: ['placed'], reject: ['placed'], cancel: ['placed', 'confirmed'], preparing: ['confirmed', 'confirmed by POS'], ready: ['preparing'],
  assign: ['confirmed', 'ready'], 'picked-up': ['ready with courier'], delivered: ['picked_up'],
};

/** The roles whose tokens reach an operation's happy path, preferred for its valid requests. */
export const PREFERRED: Record<string, string[]> = {
  'POST /v1/orders': ['customer'],
  'POST /v1/orders/{id}/cancel': ['customer', 'restaurant', 'admin'],
  'POST /v1/orders/{id}/assign': ['admin'],
  'PATCH /v1/restaurants/{id}': ['restaurant', 'admin'],
  'PATCH /v1/restaurants/{id}/menu/{itemId}': ['restaurant', 'admin'],
  'GET /v1/ops/dead-letters': ['admin'],
  'GET /v1/ops/stream': ['admin'],
  'GET /v1/restaurants/{id}/orders/stream': ['restaurant', 'admin'],
  'GET /v1/restaurants/{id}/orders/export': ['restaurant', 'admin'],
  'POST /v1/ops/dead-letters/resend': ['admin'],
  'POST /v1/courier/shift': ['courier'],
  'POST /v1/courier/location': ['courier'],
  'POST /v1/courier/stream-ticket': ['courier'],
  'GET /v1/courier/stream': ['courier'],
  ...Object.fromEntries(MOVES.map((m) => [`POST /v1/orders/{id}/${m}`, m === 'picked-up' || m === 'delivered' ? ['courier'] : ['restaurant']])),
};

/**
 * A courier's positions a few metres from the centre: a fix is refused as a glitch when it is faster than
 * COURIER_MAX_SPEED_KMH from the last (over at least a second), so random places on the globe never pass.
 */
export const nearCentre = fc
  .record({ bearing: fc.integer({ min: 0, max: 359 }), km: fc.double({ min: 0, max: 0.02, noNaN: true }) })
  .map(({ bearing, km }) => offset(CENTER, bearing, km));
