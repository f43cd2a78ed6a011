import { type FieldErrors, hasErrors, isObject } from './fields.ts';

export const PARTNERS = ['payments', 'pos', 'eta', 'notify', 'catalog'] as const;
export type PartnerName = (typeof PARTNERS)[number];

const MODES = ['normal', 'hang', 'down'] as const;
export type Mode = (typeof MODES)[number];

export interface PartnerSettings {
  median_ms: number;
  p99_ms: number;
  error_rate: number;
  mode: Mode;
}

const DEFAULT_LATENCY: Record<PartnerName, [median: number, p99: number]> = {
  payments: [150, 600],
  pos: [200, 800],
  eta: [50, 200],
  notify: [80, 300],
  catalog: [100, 400],
};

const defaultSettings = (name: PartnerName): PartnerSettings => ({
  median_ms: DEFAULT_LATENCY[name][0],
  p99_ms: DEFAULT_LATENCY[name][1],
  error_rate: 0,
  mode: 'normal',
});

export const isPartnerName = (name: string): name is PartnerName => (PARTNERS as readonly string[]).includes(name);

export type SettingsResult = { ok: true; settings: PartnerSettings } | { ok: false; errors: FieldErrors };

/** setTimeout silently turns anything above 2^31-1 ms into 1 ms, so larger latencies are refused outright. */
const MAX_MS = 2_147_483_647;

/**
 * Applies a PUT body (any subset of the settings) to the current settings. p99 >= median is checked on
 * the merged result, so lowering only the median below the current p99 is allowed.
 */
export function applySettingsPatch(current: PartnerSettings, body: unknown): SettingsResult {
  const errors: FieldErrors = {};
  if (!isObject(body)) return { ok: false, errors: { body: 'must be a JSON object' } };
  const next = { ...current };
  for (const [key, value] of Object.entries(body)) {
    switch (key) {
      case 'median_ms':
      case 'p99_ms':
        if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_MS) next[key] = value;
        else errors[key] = `must be a number between 0 and ${MAX_MS}`;
        break;
      case 'error_rate':
        if (typeof value === 'number' && value >= 0 && value <= 1) next.error_rate = value;
        else errors[key] = 'must be a number between 0 and 1';
        break;
      case 'mode':
        if ((MODES as readonly unknown[]).includes(value)) next.mode = value as Mode;
        else errors[key] = `must be one of ${MODES.join(', ')}`;
        break;
      default:
        errors[key] = 'unknown setting';
    }
  }
  if (!errors['median_ms'] && !errors['p99_ms'] && next.p99_ms < next.median_ms) {
    errors['p99_ms'] = `must be >= median_ms (${next.median_ms})`;
  }
  return hasErrors(errors) ? { ok: false, errors } : { ok: true, settings: next };
}

export class PartnerState {
  #settings = new Map<PartnerName, PartnerSettings>();

  constructor() {
    this.reset();
  }

  get(name: PartnerName): PartnerSettings {
    return this.#settings.get(name)!;
  }

  set(name: PartnerName, settings: PartnerSettings): void {
    this.#settings.set(name, settings);
  }

  all(): Record<PartnerName, PartnerSettings> {
    return Object.fromEntries(this.#settings) as Record<PartnerName, PartnerSettings>;
  }

  reset(): void {
    for (const name of PARTNERS) this.#settings.set(name, defaultSettings(name));
  }
}
