import Type from 'typebox';
import { COURIER_STREAM_PATH } from '../../live/asyncapi.ts';
import { Latitude, Longitude, Timestamp, problems } from '../shared.schema.ts';

const auth = { security: [{ bearer: [] }] };
const tags = ['courier'];

const Position = Type.Object({ lat: Latitude, lng: Longitude });

export const SetShift = {
  ...auth,
  tags,
  summary: 'Go on or off shift (couriers)',
  description:
    'On shift at the position given, or where the courier was last seen (a first shift needs `lat` and `lng`). A courier ' +
    'without a fix for COURIER_STALE_AFTER_MS (30 s) is offered no work; one silent for COURIER_OFF_SHIFT_AFTER_MS (2 min) ' +
    'is taken off shift. Going off shift gives back the orders assigned but not yet picked up (dispatch offers them again); ' +
    'with an order picked up and not delivered it is refused with 409, naming the orders in `orders`.',
  body: Type.Object({ online: Type.Boolean(), lat: Type.Optional(Latitude), lng: Type.Optional(Longitude) }, { additionalProperties: false }),
  response: {
    200: Type.Object({
      on_shift: Type.Boolean(),
      position: Type.Union([Position, Type.Null()]),
      shift_started_at: Type.Union([Timestamp, Type.Null()]),
    }),
    ...problems(400, 401, 403, 409, 413, 415, 422),
  },
};

export const ReportLocation = {
  ...auth,
  tags,
  summary: 'Report the caller\'s own position (couriers; the fallback of the stream\'s `position` message)',
  description:
    'Checked (a speed over COURIER_MAX_SPEED_KMH since the last position is a 422 `position-glitch`) and rate-capped: ' +
    'over one per COURIER_MIN_FIX_INTERVAL_MS, the latest is kept and published when the interval passes (`coalesced`). ' +
    'Off shift: 409.',
  body: Type.Object(
    {
      lat: Latitude,
      lng: Longitude,
      at: Type.Optional(Type.Integer({ minimum: 0, description: 'when the device measured it (Unix epoch milliseconds); omitted: now' })),
      accuracy_m: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000 })),
    },
    { additionalProperties: false },
  ),
  response: {
    200: Type.Object({ outcome: Type.Union([Type.Literal('accepted'), Type.Literal('coalesced')]) }),
    ...problems(400, 401, 403, 409, 413, 415, 422),
  },
};

export const StreamTicket = {
  ...auth,
  tags,
  summary: 'A short-lived ticket to open the courier stream from a browser (couriers)',
  description: `Browsers cannot set headers on a WebSocket: pass the ticket as \`${COURIER_STREAM_PATH}?ticket=\`. A ticket opens streams only; it is not an API token.`,
  response: {
    200: Type.Object({ ticket: Type.String(), expires_in: Type.Integer({ description: 'seconds until the ticket expires' }) }),
    ...problems(401, 403),
  },
};

export const Stream = {
  ...auth,
  tags,
  summary: 'The courier\'s WebSocket: positions and offer answers in, offers and order moves out',
  description:
    'A WebSocket upgrade, signed in as a courier with `Authorization: Bearer` or `?ticket=` (from `POST /v1/courier/stream-ticket`). ' +
    'The messages, both ways, are described by the AsyncAPI document at [/asyncapi.json](/asyncapi.json). A request that does ' +
    'not ask for an upgrade is answered 426.',
  querystring: Type.Object({ ticket: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })) }, { additionalProperties: false }),
  response: {
    101: Type.Null({ description: 'Switching Protocols: the socket is open; see /asyncapi.json for its messages' }),
    ...problems(400, 401, 403, 426),
  },
};
