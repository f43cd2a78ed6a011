import Type from 'typebox';
import { Restaurant } from '../restaurants/schema.ts';
import { Cents, Latitude, Longitude, Timestamp, Uuid, problems } from '../shared.schema.ts';

/** A dish as dabba's menu holds it: its id orders it, and its price is the price checkout charges. */
const Highlight = Type.Object({
  id: Uuid,
  name: Type.String(),
  price_cents: Cents,
});

const FeedEntry = Type.Object({
  restaurant: Type.Intersect([Restaurant, Type.Object({ distance_km: Type.Number() })]),
  menu: Type.Union([
    Type.Object({
      stale: Type.Boolean({ description: 'true: the live menu did not answer in time; this is the last one that did' }),
      as_of: Timestamp,
      highlights: Type.Array(Highlight, {
        description: "up to three dishes the live menu lists as available, in its order, as dabba's menu holds them (id, name, price); dishes not synced yet are left out",
      }),
    }),
    Type.Null(),
  ]),
  menu_error: Type.Optional(Type.String({ description: 'why the live menu is missing or stale' })),
  eta_minutes: Type.Union([Type.Integer(), Type.Null()]),
  eta_error: Type.Optional(Type.String()),
});

export const GetFeed = {
  tags: ['feed'],
  summary: 'The home screen: nearby open restaurants with live menu highlights and delivery ETAs',
  description:
    'Every partner call runs at once under one deadline; a restaurant whose partner failed is still listed and marked.',
  querystring: Type.Object({ lat: Latitude, lng: Longitude }, { additionalProperties: false }),
  response: {
    200: Type.Object({ items: Type.Array(FeedEntry), partial: Type.Boolean(), generated_at: Timestamp }),
    ...problems(400),
  },
};
