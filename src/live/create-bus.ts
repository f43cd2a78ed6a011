import type { Config } from '../config.ts';
import { type EventBus, LocalBus } from './event-bus.ts';

/** NATS between nodes when NATS_URL is set; otherwise this process alone. */
export async function createBus(config: Config): Promise<EventBus> {
  if (!config.nats.url) return new LocalBus();
  const { NatsBus } = await import('./nats-bus.ts');
  return NatsBus.connect({ url: config.nats.url, subjectPrefix: config.nats.subjectPrefix });
}
