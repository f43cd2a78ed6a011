import type { Config } from '../config.ts';
import type { Metrics } from '../ops/metrics.ts';
import { CatalogClient } from './catalog.client.ts';
import { EtaClient } from './eta.client.ts';
import { NotifyClient } from './notify.client.ts';
import { PartnerHttp } from './partner-http.ts';
import { PaymentsClient } from './payments.client.ts';
import { PosClient } from './pos.client.ts';

export type PartnerName = keyof Config['partners'];

/** Per-attempt timeouts: a little above each partner's p99, so a slow answer still counts. */
const ATTEMPT_TIMEOUT_MS: Record<PartnerName, number> = {
  payments: 1_500,
  pos: 1_500,
  eta: 500,
  notify: 1_000,
  catalog: 600,
};

/** Every partner client, created once per process; `close()` ends their connection pools. */
export function createPartners(config: Config, metrics: Metrics) {
  const https: PartnerHttp[] = [];
  const http = (name: PartnerName) => {
    const url = config.partners[name];
    if (!url) {
      throw new Error(`Invalid configuration: ${name.toUpperCase()}_URL must be set (\`dabba up\` starts the simulators)`);
    }
    const client = new PartnerHttp({ name, url, attemptTimeoutMs: ATTEMPT_TIMEOUT_MS[name], ...config.resilience }, metrics);
    https.push(client);
    return client;
  };
  return {
    payments: new PaymentsClient(http('payments')),
    pos: new PosClient(http('pos')),
    eta: new EtaClient(http('eta')),
    notify: new NotifyClient(http('notify')),
    catalog: new CatalogClient(http('catalog')),
    bulkheads: () => https.map((h) => ({ partner: h.name, ...h.bulkheadUsage() })),
    close: () => Promise.all(https.map((h) => h.close())).then(() => undefined),
  };
}

export type Partners = ReturnType<typeof createPartners>;
