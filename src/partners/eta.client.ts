import Type from 'typebox';
import type { Point } from '../domain/geo.ts';
import { Minutes, answers } from './partner-answers.ts';
import type { PartnerHttp } from './partner-http.ts';

/** A whole number of minutes, 0 to MAX_MINUTES: 1e12 or -5 is a broken model, not an estimate. */
const PREDICT = answers({ ok: Type.Object({ minutes: Minutes }) });

/** The ETA model: a read, so retries need no key. */
export class EtaClient {
  readonly #http: PartnerHttp;

  constructor(http: PartnerHttp) {
    this.#http = http;
  }

  /**
   * Sends the two points and the prep time, copied field by field: a caller may hold a whole row
   * (a restaurant with its owner, an order with its address), and none of that is the model's business.
   */
  async predict(origin: Point, destination: Point, prepMinutes: number, signal: AbortSignal): Promise<number> {
    const res = await this.#http.call({
      operation: 'predict',
      method: 'POST',
      path: '/v1/predict',
      body: { origin: point(origin), destination: point(destination), prep_minutes: prepMinutes },
      signal,
      answers: PREDICT,
    });
    return Math.max(1, res.body.minutes);
  }
}

const point = ({ lat, lng }: Point): Point => ({ lat, lng });
