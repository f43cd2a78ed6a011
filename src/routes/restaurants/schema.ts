import Type, { type Static } from 'typebox';
import { Cents, Cursor, IdParams, Latitude, Longitude, Timestamp, Uuid, page, problems } from '../shared.schema.ts';

export const Restaurant = Type.Object({
  id: Uuid,
  name: Type.String(),
  cuisine: Type.String(),
  address: Type.String(),
  lat: Type.Number(),
  lng: Type.Number(),
  delivery_radius_km: Type.Number(),
  prep_minutes: Type.Integer(),
  pos_integrated: Type.Boolean(),
  is_open: Type.Boolean(),
  rating: Type.Union([Type.Number(), Type.Null()]),
});

const NearbyRestaurant = Type.Intersect([Restaurant, Type.Object({ distance_km: Type.Number() })]);

export const MenuItem = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Type.String(),
  category: Type.String(),
  price_cents: Cents,
  is_available: Type.Boolean(),
  synced_at: Type.Union([Timestamp, Type.Null()], { description: 'when the catalog sync last saw this item; null: never' }),
});

export const NearbyQuery = Type.Object(
  {
    lat: Latitude,
    lng: Longitude,
    radius_km: Type.Number({ exclusiveMinimum: 0, maximum: 50, default: 8 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type NearbyQuery = Static<typeof NearbyQuery>;

const MenuItemParams = Type.Object({ id: Uuid, itemId: Uuid }, { additionalProperties: false });

export const RestaurantPatch = Type.Object({ is_open: Type.Boolean() }, { additionalProperties: false });
export const MenuItemPatch = Type.Object(
  {
    price_cents: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
    is_available: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

const owner = { security: [{ bearer: [] }] };

export const ListNearby = {
  tags: ['restaurants'],
  summary: 'Restaurants near a point, nearest first',
  querystring: NearbyQuery,
  response: { 200: page(NearbyRestaurant), ...problems(400) },
};
export const ListOwned = {
  ...owner,
  tags: ['restaurants'],
  summary: "The caller's own restaurants, by name (restaurant owners)",
  response: { 200: Type.Object({ items: Type.Array(Restaurant) }), ...problems(401, 403) },
};
export const GetRestaurant = {
  tags: ['restaurants'],
  summary: 'One restaurant',
  params: IdParams,
  response: { 200: Restaurant, ...problems(400, 404) },
};
export const GetMenu = {
  tags: ['restaurants'],
  summary: "A restaurant's menu",
  params: IdParams,
  response: {
    200: Type.Object({
      restaurant_id: Uuid,
      is_open: Type.Boolean(),
      synced_at: Type.Union([Timestamp, Type.Null()], { description: "the last successful sync from the restaurant's catalog; null: never" }),
      stale: Type.Boolean({ description: 'true: the last sync failed, or succeeded too long ago (MENU_STALE_AFTER_MS); this is the last synced menu' }),
      sync_error: Type.Union([Type.String(), Type.Null()], { description: 'why the last sync failed (timeout, unavailable, bad_response, …); null when it did not' }),
      items: Type.Array(MenuItem),
    }),
    ...problems(400, 404),
  },
};
export const PatchRestaurant = {
  ...owner,
  tags: ['restaurants'],
  summary: 'Open or close a restaurant (its owner or an admin)',
  params: IdParams,
  body: RestaurantPatch,
  response: { 200: Restaurant, ...problems(400, 401, 403, 404, 413, 415) },
};
export const PatchMenuItem = {
  ...owner,
  tags: ['restaurants'],
  summary: "Change a menu item's price or availability (its owner or an admin)",
  params: MenuItemParams,
  body: MenuItemPatch,
  response: { 200: MenuItem, ...problems(400, 401, 403, 404, 413, 415) },
};
