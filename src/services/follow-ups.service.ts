import type { FastifyBaseLogger } from 'fastify';
import type { OrderRepository } from '../db/repositories/order.repository.ts';
import type { FollowUp } from '../domain/follow-ups.ts';
import { isFailed } from '../domain/order-status.ts';
import type { FollowUpJob } from '../jobs/job-queue.ts';
import type { Partners } from '../partners/index.ts';

const JOB_DEADLINE_MS = 20_000;

type Fulfilment = NonNullable<Awaited<ReturnType<OrderRepository['forFulfilment']>>>;

/**
 * The durable follow-ups of status changes. Each handler reads the order afresh and does only what
 * is still undone, with the same idempotency keys as the first attempt, so a job that runs twice
 * (a retry, or a worker that died after the partner answered) has the effect of running once.
 * A throw hands the job back to pg-boss for a retry with backoff.
 */
export class FollowUpsService {
  readonly #orders: OrderRepository;
  readonly #partners: Partners;
  readonly #log: FastifyBaseLogger;

  constructor(deps: { orders: OrderRepository; partners: Partners; log: FastifyBaseLogger }) {
    this.#orders = deps.orders;
    this.#partners = deps.partners;
    this.#log = deps.log;
  }

  /** One batch of a job queue, one outcome per job: notifications share their read, the rest run one by one at once. */
  run(name: FollowUp, jobs: FollowUpJob[]): Promise<PromiseSettledResult<void>[]> {
    if (name === 'notify') return this.notifyAll(jobs);
    return Promise.allSettled(jobs.map((job) => this[name](job)));
  }

  /**
   * Gives back what a failed or cancelled order still holds: the authorisation, and the POS ticket.
   * The two are independent: the kitchen hears of the cancellation even while the gateway is down
   * (and the other way round). Each records its outcome, so a retry redoes only what failed.
   */
  async compensate(job: FollowUpJob) {
    const order = await this.#orders.forFulfilment(job.orderId);
    if (!order || !isFailed(order.status)) return;
    const signal = AbortSignal.timeout(JOB_DEADLINE_MS);
    const [payment, pos] = await Promise.allSettled([
      this.#releasePayment(order, signal),
      order.pos_integrated ? this.#cancelAtPos(order, signal) : undefined,
    ]);
    if (payment.status === 'rejected') throw payment.reason;
    if (pos.status === 'rejected') throw pos.reason;
  }

  async capture(job: FollowUpJob) {
    const order = await this.#orders.forFulfilment(job.orderId);
    if (order?.status !== 'delivered' || order.payment_state === 'captured') return;
    if (order.payment_state !== 'authorized' || !order.authorization_id) {
      this.#log.error({ orderId: order.id, paymentState: order.payment_state }, 'delivered order has no authorisation to capture');
      return;
    }
    const result = await this.#partners.payments.capture(order.authorization_id, order.id, AbortSignal.timeout(JOB_DEADLINE_MS));
    if (!result.ok && result.reason !== 'already_captured') {
      this.#log.error({ orderId: order.id, reason: result.reason }, 'the gateway refused the capture');
      return;
    }
    await this.#orders.recordPartnerState(order.id, { payment_state: 'captured' });
  }

  /** A batch of notifications: their recipients in one read, then every message at once. */
  async notifyAll(jobs: FollowUpJob[]): Promise<PromiseSettledResult<void>[]> {
    const recipients = new Map((await this.#orders.recipients(jobs.map((j) => j.orderId))).map((r) => [r.id, r.email]));
    const signal = AbortSignal.timeout(JOB_DEADLINE_MS);
    return Promise.allSettled(
      jobs.map(async (job) => {
        const to = recipients.get(job.orderId);
        if (to === undefined) return;
        await this.#partners.notify.send(
          {
            channel: 'push',
            to,
            template: `order.${job.status}`,
            data: { order_id: job.orderId, status: job.status },
            key: `notify:${job.orderId}:${job.status}`,
          },
          signal,
        );
      }),
    );
  }

  async #releasePayment(order: Fulfilment, signal: AbortSignal) {
    let authorizationId = order.authorization_id;
    if (order.payment_state === 'pending' || order.payment_state === 'unknown') {
      // The authorisation call ended without an answer. Replaying it with the same key returns what
      // the gateway did (or does it now), so whatever exists can be voided.
      const replay = await this.#partners.payments.authorize(
        { id: order.id, totalCents: order.total_cents, currency: order.currency },
        signal,
      );
      if (!replay.ok) {
        await this.#orders.recordPartnerState(order.id, { payment_state: 'declined' });
        return;
      }
      authorizationId = replay.authorizationId;
      await this.#orders.recordPartnerState(order.id, { payment_state: 'authorized', authorization_id: authorizationId });
    } else if (order.payment_state !== 'authorized') {
      return;
    }
    if (!authorizationId) return;
    const voided = await this.#partners.payments.void(authorizationId, order.id, signal);
    if (!voided.ok && voided.reason !== 'already_voided') {
      this.#log.error({ orderId: order.id, reason: voided.reason }, 'the gateway refused to void the authorisation');
      return;
    }
    await this.#orders.recordPartnerState(order.id, { payment_state: 'voided' });
  }

  async #cancelAtPos(order: Fulfilment, signal: AbortSignal) {
    let posOrderId = order.pos_order_id;
    // 'none' on a POS restaurant: checkout died before it recorded the submission, which may have gone out.
    if (order.pos_state === 'none' || order.pos_state === 'pending' || order.pos_state === 'unknown') {
      const replay = await this.#partners.pos.submit({ id: order.id, restaurantId: order.restaurant_id, items: order.items }, signal);
      if (!replay.ok) {
        await this.#orders.recordPartnerState(order.id, { pos_state: 'rejected' });
        return;
      }
      posOrderId = replay.posOrderId;
    } else if (order.pos_state !== 'accepted') {
      return;
    }
    if (!posOrderId) return;
    await this.#partners.pos.cancel(posOrderId, order.id, signal);
    await this.#orders.recordPartnerState(order.id, { pos_state: 'cancelled', pos_order_id: posOrderId });
  }
}
