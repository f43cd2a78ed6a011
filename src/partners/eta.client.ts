import type { Point } from '../domain/geo.ts';
import { PartnerError } from './partner-errors.ts';
import type { PartnerHttp } from './partner-http.ts';

/** The ETA model: a read, so retries need no key. */
export class EtaClient {
  readonly #http: PartnerHttp;

  constructor(http: PartnerHttp) {
    this.#http = http;
  }

  async predict(origin: Point, destination: Point, prepMinutes: number, signal: AbortSignal): Promise<number> {
    const res = await this.#http.call<{ minutes?: number }>({
      operation: 'predict',
      method: 'POST',
      path: '/v1/predict',
      body: { origin, destination, prep_minutes: prepMinutes },
      signal,
    });
    if (res.status < 300 && typeof res.body.minutes === 'number') return Math.max(1, Math.round(res.body.minutes));
    throw new PartnerError('eta', 'bad_response', `predict answered ${res.status}`, { status: res.status });
  }
}
