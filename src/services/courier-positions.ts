import type { FastifyBaseLogger } from 'fastify';
import type { CourierRepository, Fix } from '../db/repositories/courier.repository.ts';
import { paceWait, type Sent } from '../domain/pacing.ts';
import { distanceKm } from '../domain/geo.ts';
import type { EventBus } from '../live/event-bus.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { CourierDirectory } from './courier-directory.ts';

/** What a courier's device says: where it is and, optionally, when it measured that (epoch ms). */
export interface ReportedFix {
  lat: number;
  lng: number;
  at?: number;
}

/** `accepted`: published now; `coalesced`: over the rate cap, held as the courier's latest and published when the interval passes. */
export type FixVerdict = { outcome: 'accepted' | 'coalesced' } | FixRefusal;
export interface FixRefusal {
  outcome: 'invalid' | 'glitch' | 'off_shift';
  detail: string;
}

export const isRefusal = (verdict: FixVerdict): verdict is FixRefusal => 'detail' in verdict;

export interface PositionLimits {
  maxSpeedKmh: number;
  minFixIntervalMs: number;
  flushMs: number;
  staleAfterMs: number;
}

interface Track {
  /** The newest valid fix (published or held): the next one's speed is measured from it. */
  last?: { lat: number; lng: number; at: number };
  /** The last fix published (its time, and when it was published), which paces the next. */
  published?: Sent;
  pending?: Fix;
  timer?: NodeJS.Timeout;
  /** Found off shift in the database until then: refused without asking again. */
  offShiftUntil?: number;
}

/**
 * Speeds are measured over at least this long: two fixes a few milliseconds apart and a few metres
 * apart (GPS jitter) are not a courier at hundreds of km/h.
 */
const MIN_SPEED_WINDOW_MS = 1_000;

/**
 * A courier's positions, from the device to the other nodes and the database. Each fix is checked
 * (range, finite, not older than the courier's last, no faster than COURIER_MAX_SPEED_KMH since it),
 * rate-capped per courier (COURIER_MIN_FIX_INTERVAL_MS: the excess is coalesced, the latest wins and
 * is published when the interval passes), published on the bus, and written to the database in
 * batches: every COURIER_POSITION_FLUSH_MS, one statement for every courier that moved.
 */
export class CourierPositions {
  readonly #couriers: Pick<CourierRepository, 'writePositions' | 'isOnShift'>;
  readonly #directory: Pick<CourierDirectory, 'isOnShift' | 'position'>;
  readonly #bus: EventBus;
  readonly #limits: PositionLimits;
  readonly #metrics: Pick<Metrics, 'courierPositions'> | undefined;
  readonly #log: FastifyBaseLogger;
  readonly #tracks = new Map<string, Track>();
  /** Published fixes not yet written, the latest per courier. */
  #unwritten = new Map<string, Fix>();
  #flushTimer: NodeJS.Timeout | undefined;
  /** Writes run one after another; the timer skips its turn while one runs. */
  #writes: Promise<void> = Promise.resolve();
  #writing = false;
  #unsubscribe: (() => void) | undefined;

  constructor(deps: {
    couriers: Pick<CourierRepository, 'writePositions' | 'isOnShift'>;
    directory: Pick<CourierDirectory, 'isOnShift' | 'position'>;
    bus: EventBus;
    limits: PositionLimits;
    metrics?: Pick<Metrics, 'courierPositions'>;
    log: FastifyBaseLogger;
  }) {
    this.#couriers = deps.couriers;
    this.#directory = deps.directory;
    this.#bus = deps.bus;
    this.#limits = deps.limits;
    this.#metrics = deps.metrics;
    this.#log = deps.log;
  }

  /** Forgets couriers leaving the shift (on any node); with `flush`, writes batches on a timer. */
  start(opts: { flush: boolean }) {
    this.#unsubscribe = this.#bus.subscribe('courier.shift', (m) => {
      if (!m.on_shift) this.#forget(m.courier_id);
    });
    if (opts.flush) {
      this.#flushTimer = setInterval(() => {
        if (!this.#writing) void this.flush();
      }, this.#limits.flushMs).unref();
    }
  }

  /** Stops the timers, publishes nothing more, and writes what was published. */
  async close() {
    clearInterval(this.#flushTimer);
    this.#unsubscribe?.();
    for (const id of this.#tracks.keys()) this.#forget(id);
    await this.flush();
  }

  async report(courierId: string, fix: ReportedFix): Promise<FixVerdict> {
    const verdict = await this.#judge(courierId, fix);
    this.#metrics?.courierPositions.inc({ outcome: verdict.outcome });
    return verdict;
  }

  /** Writes every published fix not yet written, in one statement; a failed write is retried with the next flush. */
  flush(): Promise<void> {
    this.#writes = this.#writes.then(() => this.#write());
    return this.#writes;
  }

  async #write() {
    if (this.#unwritten.size === 0) return;
    const batch = this.#unwritten;
    this.#unwritten = new Map();
    this.#writing = true;
    try {
      await this.#couriers.writePositions([...batch.values()]);
    } catch (err) {
      this.#log.warn({ err, couriers: batch.size }, 'writing courier positions failed; retried with the next flush');
      for (const [id, fix] of batch) if (!this.#unwritten.has(id)) this.#unwritten.set(id, fix);
    } finally {
      this.#writing = false;
    }
  }

  async #judge(courierId: string, fix: ReportedFix): Promise<FixVerdict> {
    const { lat, lng } = fix;
    if (!Number.isFinite(lat) || !Number.isFinite(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180) {
      return { outcome: 'invalid', detail: 'lat must be within -90..90 and lng within -180..180.' };
    }
    const now = Date.now();
    if (fix.at !== undefined && !(Number.isFinite(fix.at) && fix.at >= now - this.#limits.staleAfterMs)) {
      return { outcome: 'invalid', detail: 'at is too old to be a current position.' };
    }
    if (!(await this.#onShift(courierId, now))) return { outcome: 'off_shift', detail: 'Go on shift before reporting positions.' };
    // A device clock running ahead says nothing about the future: the fix is as of now at the latest.
    let at = Math.min(fix.at ?? now, now);
    const track = this.#track(courierId);
    // The newer of this node's last fix and what the directory heard since (a shift begun at a new place, another node's fix).
    const heard = this.#directory.position(courierId);
    const last = track.last && !(heard && heard.at > track.last.at) ? track.last : heard;
    if (last && at < last.at) {
      if (fix.at !== undefined) return { outcome: 'invalid', detail: 'at is older than the last position reported.' };
      // Timed by this node's clock against another's (the courier moved nodes): a few ms behind is not the past.
      at = last.at;
    }
    if (last) {
      const hours = Math.max(at - last.at, MIN_SPEED_WINDOW_MS) / 3_600_000;
      const kmh = distanceKm(last, fix) / hours;
      if (kmh > this.#limits.maxSpeedKmh) {
        return { outcome: 'glitch', detail: `${Math.round(kmh)} km/h since the last position is over ${this.#limits.maxSpeedKmh} km/h.` };
      }
    }
    track.last = { lat, lng, at };
    const accepted: Fix = { courierId, lat, lng, at: new Date(at) };
    const wait = paceWait(track.published, at, this.#limits.minFixIntervalMs, now);
    if (wait === 0 && !track.pending) {
      this.#publish(track, accepted, now);
      return { outcome: 'accepted' };
    }
    track.pending = accepted;
    track.timer ??= setTimeout(() => {
      track.timer = undefined;
      if (track.pending) this.#publish(track, track.pending, Date.now());
    }, wait).unref();
    return { outcome: 'coalesced' };
  }

  #publish(track: Track, fix: Fix, now: number) {
    track.pending = undefined;
    track.published = { at: fix.at.getTime(), sentAt: now };
    this.#unwritten.set(fix.courierId, fix);
    this.#bus.publish('courier.position', { courier_id: fix.courierId, lat: fix.lat, lng: fix.lng, at: fix.at.getTime() });
  }

  /**
   * The directory answers for couriers it has heard go on shift; for one it has not (the news was
   * lost, or is on its way), the database does, and an answer of "off" is kept for a moment so a device
   * sending fixes off shift costs no query each.
   */
  async #onShift(courierId: string, now: number) {
    if (this.#directory.isOnShift(courierId)) return true;
    const track = this.#tracks.get(courierId);
    if (track?.offShiftUntil !== undefined && track.offShiftUntil > now) return false;
    if (await this.#couriers.isOnShift(courierId)) return true;
    this.#track(courierId).offShiftUntil = now + Math.max(this.#limits.minFixIntervalMs, MIN_SPEED_WINDOW_MS);
    return false;
  }

  #track(courierId: string) {
    let track = this.#tracks.get(courierId);
    if (!track) {
      track = {};
      this.#tracks.set(courierId, track);
    }
    return track;
  }

  #forget(courierId: string) {
    const track = this.#tracks.get(courierId);
    if (!track) return;
    clearTimeout(track.timer);
    // A fix held back by the cap is still the courier's latest: it is written, though no longer published.
    if (track.pending) this.#unwritten.set(courierId, track.pending);
    this.#tracks.delete(courierId);
  }
}
