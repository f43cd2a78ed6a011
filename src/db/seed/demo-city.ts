import { sql } from 'kysely';
import { offset } from '../../domain/geo.ts';
import { hashPassword } from '../../services/password-hasher.ts';
import type { Db } from '../database.ts';
import { CUISINES, RESTAURANTS } from './demo-menus.ts';
import { seededRandom as random } from '../../domain/seeded-random.ts';

export const DEMO_CENTER = { lat: 19.076, lng: 72.8777 };
export const DEMO_PASSWORD = 'dabba-demo';
export const DEMO_ACCOUNTS = {
  customer: 'customer@dabba.test',
  restaurant: 'restaurant@dabba.test',
  courier: 'courier@dabba.test',
  admin: 'admin@dabba.test',
} as const;

const COURIERS = 60;
const OWNERS = 6;
// The city simulation (sim/city) orders as these: signing in is cheaper than registering, which is rate-limited.
const CUSTOMERS = 20;
const numbered = (count: number, prefix: string) => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}@dabba.test`);

/** Every person of the demo city by role, each list starting with its demo account: what the seed creates and the city simulation signs in as. */
export const DEMO_CITY_ACCOUNTS = {
  customers: [DEMO_ACCOUNTS.customer, ...numbered(CUSTOMERS - 1, 'customer')],
  owners: [DEMO_ACCOUNTS.restaurant, ...numbered(OWNERS, 'owner')],
  couriers: [DEMO_ACCOUNTS.courier, ...numbered(COURIERS - 1, 'courier')],
} as const;

// Seeding is the only writer that takes this lock, so two nodes starting on an empty database seed once.
const SEED_LOCK = 727_001;

/**
 * Creates the demo city around Mumbai when the database has no users yet. Returns false when there
 * was something already (a second start, or another node seeding first).
 */
export async function seedDemoCity(db: Db): Promise<boolean> {
  // Every demo account shares the published demo password, so one hash serves them all.
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  return db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(${SEED_LOCK})`.execute(tx);
    const existing = await tx.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (existing) return false;

    const rand = random(19_076);
    const user = (email: string, name: string, role: 'customer' | 'restaurant' | 'courier' | 'admin') => ({
      email,
      name,
      role,
      password_hash: passwordHash,
    });
    const accounts = await tx
      .insertInto('users')
      .values([
        user(DEMO_ACCOUNTS.customer, 'Asha Customer', 'customer'),
        user(DEMO_ACCOUNTS.restaurant, 'Ravi Restaurateur', 'restaurant'),
        user(DEMO_ACCOUNTS.courier, 'Kabir Courier', 'courier'),
        user(DEMO_ACCOUNTS.admin, 'Meera Admin', 'admin'),
        ...DEMO_CITY_ACCOUNTS.owners.slice(1).map((email, i) => user(email, `Owner ${i + 1}`, 'restaurant')),
        ...DEMO_CITY_ACCOUNTS.couriers.slice(1).map((email, i) => user(email, `Courier ${i + 1}`, 'courier')),
        ...DEMO_CITY_ACCOUNTS.customers.slice(1).map((email, i) => user(email, `Customer ${i + 1}`, 'customer')),
      ])
      .returning(['id', 'role', 'email'])
      .execute();

    const couriers = accounts.filter((a) => a.role === 'courier');
    const vehicles = ['bicycle', 'scooter', 'motorbike'] as const;
    await tx
      .insertInto('couriers')
      .values(
        couriers.map((c) => ({
          user_id: c.id,
          vehicle: vehicles[Math.floor(rand() * vehicles.length)]!,
          ...offset(DEMO_CENTER, rand() * 360, rand() * 7),
        })),
      )
      .execute();

    const owners = accounts.filter((a) => a.role === 'restaurant');
    const restaurants = await tx
      .insertInto('restaurants')
      .values(
        RESTAURANTS.map(([name, cuisine, area], i) => ({
          // The demo owner has three restaurants so the restaurant board has something to switch between.
          owner_id: owners[i < 3 ? 0 : 1 + (i % (owners.length - 1))]!.id,
          name,
          cuisine,
          address: `${10 + Math.floor(rand() * 190)} ${area} Road, ${area}, Mumbai`,
          ...offset(DEMO_CENTER, (i * 137.5) % 360, 0.6 + rand() * 7),
          delivery_radius_km: 6 + Math.floor(rand() * 5),
          prep_minutes: 10 + Math.floor(rand() * 20),
          pos_integrated: i % 2 === 0,
          rating: Math.round((3.6 + rand() * 1.4) * 10) / 10,
        })),
      )
      .returning(['id', 'cuisine'])
      .execute();

    const items = restaurants.flatMap((r) => {
      const dishes = [...CUISINES[r.cuisine]!].sort(() => rand() - 0.5);
      const count = Math.min(dishes.length, 8 + Math.floor(rand() * 13));
      return dishes.slice(0, count).map(([name, category, rupees], position) => ({
        restaurant_id: r.id,
        name,
        category,
        description: `${name}, made fresh to order.`,
        price_cents: Math.round(rupees * (0.9 + rand() * 0.25)) * 100,
        position,
      }));
    });
    await tx.insertInto('menu_items').values(items).execute();
    return true;
  });
}
