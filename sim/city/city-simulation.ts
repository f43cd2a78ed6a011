import { DEMO_CENTER, DEMO_CITY_ACCOUNTS, DEMO_PASSWORD } from '../../src/db/seed/demo-city.ts';
import { seededRandom } from '../../src/domain/seeded-random.ts';
import { CityApi, type Session, loopbackBase } from './api-client.ts';
import { CityClock } from './clock.ts';
import { Couriers } from './couriers.ts';
import { Customers } from './customers.ts';
import { areaAround } from './geometry.ts';
import { type CityReport, Tally, cityReport, progressLine } from './report.ts';
import { Kitchens } from './restaurants.ts';

export interface CitySimulationOptions {
  /** The API, on this machine: anything but a loopback address is refused. */
  baseUrl: string;
  /** Orders a real minute (not a city minute), arriving at random. */
  ordersPerMinute: number;
  /** Divides every delay of the city: a kitchen's reaction, cooking, a courier's thinking, a ride. Default 1. */
  timeScale?: number;
  /** Stops the city, like close(). */
  signal?: AbortSignal;
  /** Orders placed and not yet ended, at most (default 60); arrivals past it are held back. */
  maxInFlight?: number;
  /** Orders placed in all (default 10,000); the city then waits for them to end and stops. */
  maxOrders?: number;
  /** Stops after this many real minutes (0 or absent: when closed or `maxOrders` have ended). */
  minutes?: number;
  /**
   * The API's COURIER_MAX_SPEED_KMH (default 150): couriers are never seen faster than 80% of it, however
   * large the time scale, so no fix is refused as a glitch.
   */
  maxSpeedKmh?: number;
  /** How many of the demo city's couriers and customers take part (default all: 60 and 20). */
  couriers?: number;
  customers?: number;
  /** Shares of offers couriers decline (default 0.1) and of orders tablet restaurants reject (0.03). */
  declineRate?: number;
  rejectRate?: number;
  seed?: number;
  /** A line of figures every 10 s while the city runs. */
  onProgress?: (line: string) => void;
}

export interface CitySimulation {
  /** Everyone signed in and started (or the city stopped first). */
  ready: Promise<void>;
  /** The final report, once the city has stopped: a bound reached, the signal, or close(). */
  done: Promise<CityReport>;
  /** The figures so far. */
  report(): CityReport;
  /** Stops everything (timers, streams, sockets; couriers go off shift) and resolves with the final report. */
  close(): Promise<CityReport>;
}

/** Sign-ins at once: each costs the API a password hash (~100 ms of a core); more would only starve its event loop. */
const SIGN_IN_CONCURRENCY = 2;
const PROGRESS_EVERY_MS = 10_000;

/** Runs `fn` with at most `n` calls in flight, the rest waiting in call order. */
function limited<A, R>(n: number, fn: (a: A) => Promise<R>) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (a: A): Promise<R> => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await fn(a);
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * The demo city, alive: its customers order, its restaurants cook, its couriers ride, all through the
 * API's public HTTP routes, streams and sockets, as their apps would. Throws at once for a base URL
 * that is not on loopback.
 */
export function startCitySimulation(options: CitySimulationOptions): CitySimulation {
  const baseUrl = loopbackBase(options.baseUrl);
  const timeScale = options.timeScale ?? 1;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const stop = new AbortController();
  const clock = new CityClock(timeScale, stop.signal);
  const tally = new Tally();
  const api = new CityApi(baseUrl, tally, clock);
  const rand = seededRandom(seed);
  const kitchens = new Kitchens({ api, clock, tally, rand, rejectRate: options.rejectRate ?? 0.03 });
  let couriers: Couriers | undefined;
  let customers: Customers | undefined;
  const report = () => cityReport(tally, { timeScale, ordersPerMinute: options.ordersPerMinute, seed });

  const signIn = limited(SIGN_IN_CONCURRENCY, (email: string) => api.signIn(email, DEMO_PASSWORD));
  const signedIn = (sessions: (Session | undefined)[]) => sessions.filter((s): s is Session => s !== undefined);

  const ready = (async () => {
    const owners = signedIn(await Promise.all(DEMO_CITY_ACCOUNTS.owners.map(signIn)));
    const restaurants = (await Promise.all(owners.map((o) => kitchens.open(o)))).flat();
    if (restaurants.length === 0) {
      if (!stop.signal.aborted) tally.error('no restaurants: is the demo city seeded?');
      return void close();
    }
    const area = areaAround(DEMO_CENTER, restaurants);
    const fleet = new Couriers({ api, clock, tally, rand, area, maxSpeedKmh: options.maxSpeedKmh ?? 150, declineRate: options.declineRate ?? 0.1 });
    couriers = fleet;
    const starting = DEMO_CITY_ACCOUNTS.couriers.slice(0, options.couriers).map(async (email) => {
      const session = await signIn(email);
      if (session) await fleet.add(session);
    });
    const people = signedIn(await Promise.all(DEMO_CITY_ACCOUNTS.customers.slice(0, options.customers).map(signIn)));
    await Promise.all(starting);
    if (stop.signal.aborted) return;
    if (people.length === 0) {
      tally.error('no customers: none could sign in');
      return void close();
    }
    customers = new Customers(
      {
        api,
        clock,
        tally,
        rand,
        area,
        ordersPerMinute: options.ordersPerMinute,
        maxInFlight: options.maxInFlight ?? 60,
        maxOrders: options.maxOrders ?? 10_000,
      },
      people,
    );
    void customers.finished.then(close);
  })().catch((err: unknown) => {
    tally.error(`city: ${(err as Error).message}`);
    void close();
  });

  let closing: Promise<CityReport> | undefined;
  let finished!: (report: CityReport) => void;
  const done = new Promise<CityReport>((resolve) => (finished = resolve));
  function close(): Promise<CityReport> {
    closing ??= (async () => {
      stop.abort();
      await ready;
      customers?.close();
      kitchens.close();
      await couriers?.close();
      await api.close();
      const final = report();
      finished(final);
      return final;
    })();
    return closing;
  }

  if (options.signal?.aborted) void close();
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  if (options.minutes) clock.afterWall(options.minutes * 60_000, () => void close());
  if (options.onProgress) {
    const onProgress = options.onProgress;
    clock.every(PROGRESS_EVERY_MS, () => onProgress(progressLine(tally)));
  }
  return { ready, done, report, close };
}
