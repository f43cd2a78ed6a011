import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Order } from '../routes/orders/schema.ts';
import { Latitude, Longitude, Uuid } from '../routes/shared.schema.ts';

/**
 * The courier socket's messages, both ways: JSON text frames, each an object with a `type`. These
 * schemas check what couriers send and are the AsyncAPI document's (asyncapi.ts), so the two cannot
 * disagree.
 */

/** A message over this is answered with an error and not read; a frame over MAX_FRAME_BYTES closes the socket (1009). */
export const MAX_MESSAGE_BYTES = 4 * 1024;
/** ws refuses larger frames before buffering them whole: memory per socket stays bounded whatever a client sends. */
export const MAX_FRAME_BYTES = 64 * 1024;

/** Close codes the server uses, besides the protocol's own (1009 too big, 1002 protocol error). */
export const CLOSE = {
  /** The node is shutting down or restarting: reconnect (to another node). */
  restart: { code: 1012, reason: 'server restarting; reconnect' },
  /** The client kept sending malformed messages, or read too slowly for its outgoing buffer. */
  abuse: { code: 1008, reason: 'too many malformed messages' },
  slowConsumer: { code: 1008, reason: 'slow consumer: outgoing buffer full' },
  internal: { code: 1011, reason: 'internal error' },
  /** The same courier connected again (another tab, a reconnect racing the old socket): the newest wins. */
  replaced: { code: 4000, reason: 'replaced by a newer connection of the same courier' },
  /** The courier logged out (on any device), or the account lost its role: sign in again before reconnecting. */
  signedOut: { code: 4001, reason: 'signed out: sign in again' },
} as const;

const Epoch = (description: string) => Type.Integer({ minimum: 0, description: `${description} (Unix epoch milliseconds)` });
const OfferId = Type.String({ format: 'uuid', description: 'the offer being answered: the last one offered to this courier' });
const strict = { additionalProperties: false } as const;

export const ClientMessages = {
  position: Type.Object(
    {
      type: Type.Literal('position'),
      lat: Latitude,
      lng: Longitude,
      at: Type.Optional(Epoch('when the device measured it; omitted: now')),
      accuracy_m: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000 })),
    },
    { ...strict, description: 'The courier\'s own position. Rate-capped (the latest wins); refused fixes are answered with an error.' },
  ),
  accept: Type.Object({ type: Type.Literal('accept'), offer_id: OfferId }, { ...strict, description: 'Take the open offer.' }),
  decline: Type.Object({ type: Type.Literal('decline'), offer_id: OfferId }, { ...strict, description: 'Turn the open offer down.' }),
  move: Type.Object(
    { type: Type.Literal('move'), order_id: Uuid, to: Type.Union([Type.Literal('picked_up'), Type.Literal('delivered')]) },
    { ...strict, description: 'Move an order assigned to this courier; answered with `moved` or an error.' },
  ),
  ping: Type.Object({ type: Type.Literal('ping') }, { ...strict, description: 'Answered with `pong`.' }),
};

export const ERROR_CODES = [
  'binary_not_supported',
  'too_large',
  'bad_json',
  'unknown_type',
  'invalid_message',
  'unknown_offer',
  'invalid_position',
  'glitch',
  'off_shift',
  'not_found',
  'forbidden',
  'conflict',
  'overloaded',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const ServerMessages = {
  hello: Type.Object(
    { type: Type.Literal('hello'), courier_id: Uuid, on_shift: Type.Boolean() },
    { description: 'Sent first, once the socket is open.' },
  ),
  shift: Type.Object(
    { type: Type.Literal('shift'), on_shift: Type.Boolean() },
    { description: 'The courier\'s shift changed (by their own request, or ended after silence).' },
  ),
  offer: Type.Object(
    {
      type: Type.Literal('offer'),
      offer_id: Uuid,
      order_id: Uuid,
      pickup: Type.Object({ restaurant_id: Uuid, name: Type.String(), lat: Latitude, lng: Longitude }),
      dropoff: Type.Object({ lat: Latitude, lng: Longitude, address: Type.String() }),
      pickup_km: Type.Number(),
      delivery_km: Type.Number(),
      expires_at: Epoch('answer before this'),
    },
    { description: 'An order offered to this courier; one at a time. Answer with `accept` or `decline`.' },
  ),
  offer_closed: Type.Object(
    {
      type: Type.Literal('offer_closed'),
      offer_id: Uuid,
      order_id: Uuid,
      outcome: Type.Enum(['assigned', 'declined', 'expired', 'withdrawn']),
    },
    { description: 'The offer is over: `assigned` to this courier, or not.' },
  ),
  moved: Type.Object({ type: Type.Literal('moved'), order: Order }, { description: 'The answer to a `move`: the order as it now is.' }),
  pong: Type.Object({ type: Type.Literal('pong') }, { description: 'The answer to a `ping`.' }),
  error: Type.Object(
    {
      type: Type.Literal('error'),
      code: Type.Enum(ERROR_CODES),
      detail: Type.String(),
      ref: Type.Optional(Type.String({ description: 'the offer_id or order_id of the message this answers, when it had one' })),
    },
    { description: 'A message was refused; the socket stays open.' },
  ),
};

type Values<T> = T[keyof T];
type StaticOf<T extends Record<string, TSchema>> = Values<{ [K in keyof T]: Static<T[K]> }>;
export type ClientMessage = StaticOf<typeof ClientMessages>;
export type ServerMessage = StaticOf<typeof ServerMessages>;
export type ErrorMessage = Static<typeof ServerMessages.error>;

/** Compiled once, at load: one JIT-checked validator per client message type. */
const validators = new Map(Object.entries(ClientMessages).map(([type, schema]) => [type, Compile(schema as TSchema)]));

const refuse = (code: ErrorCode, detail: string, ref?: string): { ok: false; error: ErrorMessage } => ({
  ok: false,
  error: { type: 'error', code, detail, ...(ref === undefined ? {} : { ref }) },
});

/** A client frame as a checked message, or the error to answer it with. */
export function parseClientMessage(data: Buffer, isBinary: boolean): { ok: true; message: ClientMessage } | { ok: false; error: ErrorMessage } {
  if (isBinary) return refuse('binary_not_supported', 'Messages are JSON text frames.');
  if (data.length > MAX_MESSAGE_BYTES) return refuse('too_large', `A message is at most ${MAX_MESSAGE_BYTES} bytes.`);
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return refuse('bad_json', 'The message is not JSON.');
  }
  const type = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { type?: unknown }).type : undefined;
  const validator = typeof type === 'string' ? validators.get(type) : undefined;
  if (!validator) return refuse('unknown_type', `type must be one of ${[...validators.keys()].join(', ')}.`);
  if (!validator.Check(value)) {
    const first = validator.Errors(value)[0];
    return refuse('invalid_message', `${type}: ${first ? `${first.instancePath || '/'} ${first.message}` : 'does not match its schema'}.`);
  }
  return { ok: true, message: value as ClientMessage };
}
