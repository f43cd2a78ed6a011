import { type Config, ConfigError } from '../../src/config.ts';
import { startCitySimulation } from './city-simulation.ts';
import { speedLimitForScaleKmh } from './geometry.ts';
import { reportTable, verdict } from './report.ts';

/** How long a closed city may take to let its process end before the open handles are named and it exits 1. */
const EXIT_GRACE_MS = 5_000;

/**
 * `dabba demo --url`: the city alone, against an API on this machine, as a load tool: progress every
 * 10 s, the report at the end (a table, or JSON with --json), exit code 1 past DEMO_MAX_ERROR_RATE.
 * SIGINT and SIGTERM close the city; nothing else ends the process, so it ends only once every timer,
 * stream and socket of the city is closed.
 */
export async function runCity(config: Config, url: string, json: boolean) {
  const { ordersPerMinute, timeScale, maxInFlight, maxOrders, minutes, maxErrorRate, couriers, customers } = config.demo;
  // Progress is for people; with --json, stdout carries the report alone.
  const say = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
  let sim: ReturnType<typeof startCitySimulation>;
  try {
    sim = startCitySimulation({
      baseUrl: url,
      ordersPerMinute,
      timeScale,
      maxInFlight,
      maxOrders,
      minutes,
      couriers,
      customers,
      maxSpeedKmh: config.couriers.maxSpeedKmh,
      onProgress: say,
    });
  } catch (err) {
    throw new ConfigError(`Invalid option: --url: ${(err as Error).message}`);
  }
  say(`city simulation: ${ordersPerMinute} orders a minute at ×${timeScale} against ${url}; Ctrl-C stops it`);
  const stopCity = () => void sim.close();
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const s of signals) process.on(s, stopCity);
  const report = await sim.done;
  for (const s of signals) process.off(s, stopCity);
  process.stdout.write(`${json ? JSON.stringify(report) : reportTable(report)}\n`);
  const failure = verdict(report, maxErrorRate);
  if (failure) say(`city simulation failed: ${failure}`);
  process.exitCode = failure ? 1 : 0;
  setTimeout(() => {
    process.stderr.write(`the city simulation left handles open: ${process.getActiveResourcesInfo().join(', ')}\n`);
    process.exit(1);
  }, EXIT_GRACE_MS).unref();
}

/**
 * What `dabba demo` sets for the API it starts: a COURIER_MAX_SPEED_KMH its couriers, seen moving at the
 * time scale, stay under (never below the configured one), and a per-address login limit (unless off)
 * that lets the city's ~90 people sign in at once from this one address.
 */
export function demoApiConfig(config: Config): Config {
  const { couriers, rateLimits, demo } = config;
  return {
    ...config,
    couriers: { ...couriers, maxSpeedKmh: Math.max(couriers.maxSpeedKmh, speedLimitForScaleKmh(demo.timeScale)) },
    rateLimits: { ...rateLimits, loginPerAddress: rateLimits.loginPerAddress && Math.max(rateLimits.loginPerAddress, 600) },
  };
}

/** The city's settings as the variables they are read from (options included), for a city in a process of its own. */
export function cityEnv(demo: Config['demo']) {
  return {
    DEMO_ORDERS_PER_MIN: String(demo.ordersPerMinute),
    DEMO_TIME_SCALE: String(demo.timeScale),
    DEMO_MAX_IN_FLIGHT: String(demo.maxInFlight),
    DEMO_MAX_ORDERS: String(demo.maxOrders),
    DEMO_MINUTES: String(demo.minutes),
    DEMO_MAX_ERROR_RATE: String(demo.maxErrorRate),
    DEMO_COURIERS: String(demo.couriers),
    DEMO_CUSTOMERS: String(demo.customers),
  };
}
