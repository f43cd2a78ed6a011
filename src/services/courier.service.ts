import type { FastifyBaseLogger } from 'fastify';
import type { CourierRepository } from '../db/repositories/courier.repository.ts';
import type { Point } from '../domain/geo.ts';
import { type Principal, SYSTEM } from '../domain/identity.ts';
import { canAssignCourier } from '../domain/order-status.ts';
import { AppError, badRequest, conflict, unprocessable } from '../errors.ts';
import type { EventBus } from '../live/event-bus.ts';
import { type CourierPositions, type FixRefusal, type ReportedFix, isRefusal } from './courier-positions.ts';
import type { OrderTransitions } from './order-transitions.ts';

/** How often a node looks for couriers gone silent: a fraction of the silence that ends a shift, within bounds. */
const sweepEvery = (offShiftAfterMs: number) => Math.min(Math.max(offShiftAfterMs / 4, 500), 15_000);

/** A refused fix as an HTTP client sees it. */
function refusal(verdict: FixRefusal): AppError {
  switch (verdict.outcome) {
    case 'off_shift':
      return conflict(verdict.detail);
    case 'glitch':
      return new AppError(422, 'position-glitch', 'Implausible position', verdict.detail);
    case 'invalid':
      return unprocessable(verdict.detail);
  }
}

/**
 * Couriers' shifts and positions: going on and off shift (the row, then the news to every node),
 * reporting a fix for oneself, and ending the shifts of couriers gone silent for COURIER_OFF_SHIFT_AFTER_MS
 * (any node may check; each courier is taken off by exactly one).
 */
export class CourierService {
  readonly #couriers: CourierRepository;
  readonly #positions: CourierPositions;
  readonly #bus: EventBus;
  readonly #transitions: OrderTransitions;
  readonly #offShiftAfterMs: number;
  readonly #log: FastifyBaseLogger;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> | undefined;

  constructor(deps: {
    couriers: CourierRepository;
    positions: CourierPositions;
    bus: EventBus;
    transitions: OrderTransitions;
    offShiftAfterMs: number;
    log: FastifyBaseLogger;
  }) {
    this.#couriers = deps.couriers;
    this.#transitions = deps.transitions;
    this.#positions = deps.positions;
    this.#bus = deps.bus;
    this.#offShiftAfterMs = deps.offShiftAfterMs;
    this.#log = deps.log;
  }

  /** With `timers`, positions are written and silent couriers looked for on a schedule; tests without them call `flush`/`endSilentShifts`. */
  start(opts: { timers: boolean }) {
    this.#positions.start({ flush: opts.timers });
    if (!opts.timers) return;
    this.#sweepTimer = setInterval(() => {
      this.#sweeping ??= this.endSilentShifts()
        .catch((err: unknown) => this.#log.warn({ err }, 'ending silent couriers\' shifts failed; tried again later'))
        .finally(() => {
          this.#sweeping = undefined;
        });
    }, sweepEvery(this.#offShiftAfterMs)).unref();
  }

  async close() {
    clearInterval(this.#sweepTimer);
    await this.#sweeping;
    await this.#positions.close();
  }

  /**
   * On shift at the given position, or where the courier was last seen (a first shift needs a
   * position). A position given is fresh; a remembered one keeps its age, so the courier is offered
   * work only after a fix. Off shift only with no food in the bag (409 naming the orders); orders
   * assigned but not yet picked up go back to dispatch at once (and the order sweeper gives back any
   * that a crash here left behind, as it does for couriers gone silent).
   */
  async setShift(who: Principal, body: { online: boolean; lat?: number; lng?: number }) {
    if ((body.lat === undefined) !== (body.lng === undefined)) {
      throw badRequest('Send both lat and lng, or neither.', [{ field: `body/${body.lat === undefined ? 'lat' : 'lng'}`, message: 'must come with its pair' }]);
    }
    if (!body.online) {
      const held = await this.#couriers.heldBy(who.id);
      const carrying = held.filter((o) => !canAssignCourier(o.status)).map((o) => o.id);
      if (carrying.length > 0) {
        throw conflict(`Deliver the order${carrying.length === 1 ? '' : 's'} you are carrying before going off shift.`, { orders: carrying });
      }
      await this.#couriers.endShift(who.id);
      // Told even when the shift had already ended: a node that missed that news learns it now.
      this.#publishShift(who.id, false);
      for (const o of held) await this.#transitions.apply(o.id, { unassign: who.id }, SYSTEM, { reason: 'courier_off_shift' });
      return { on_shift: false, position: null, shift_started_at: null };
    }
    const given: Point | undefined = body.lat !== undefined && body.lng !== undefined ? { lat: body.lat, lng: body.lng } : undefined;
    const row = await this.#couriers.startShift(who.id, given);
    if (!row) throw unprocessable('A first shift needs a position: send lat and lng.', [{ field: 'body/lat', message: 'required for a first shift' }]);
    const position = { lat: row.lat, lng: row.lng };
    const fixedAt = given ? Date.now() : Math.min(row.fixed_at.getTime(), Date.now());
    this.#publishShift(who.id, true, { ...position, at: fixedAt });
    return { on_shift: true, position, shift_started_at: row.shift_started_at };
  }

  /** The HTTP fallback of the socket's `position`: the caller's own fix, refused with a problem. */
  async reportLocation(who: Principal, fix: ReportedFix) {
    const verdict = await this.#positions.report(who.id, fix);
    if (isRefusal(verdict)) throw refusal(verdict);
    return { outcome: verdict.outcome };
  }

  /** For the socket: the verdict itself, which it turns into an error message. */
  report(courierId: string, fix: ReportedFix) {
    return this.#positions.report(courierId, fix);
  }

  isOnShift(courierId: string) {
    return this.#couriers.isOnShift(courierId);
  }

  /** Writes the positions published since the last write. */
  flush() {
    return this.#positions.flush();
  }

  /** Takes couriers silent for COURIER_OFF_SHIFT_AFTER_MS off shift, and tells every node; returns who. */
  async endSilentShifts() {
    const ended = await this.#couriers.endSilentShifts(this.#offShiftAfterMs);
    for (const c of ended) this.#publishShift(c.user_id, false);
    if (ended.length > 0) this.#log.info({ couriers: ended.length }, 'couriers gone silent taken off shift');
    return ended.map((c) => c.user_id);
  }

  #publishShift(courierId: string, onShift: boolean, at?: Point & { at: number }) {
    this.#bus.publish('courier.shift', { courier_id: courierId, on_shift: onShift, lat: at?.lat ?? null, lng: at?.lng ?? null, at: at?.at ?? Date.now() });
  }
}
