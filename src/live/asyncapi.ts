import type { TSchema } from 'typebox';
import { CLOSE, ClientMessages, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, ServerMessages } from './courier-messages.ts';

export const COURIER_STREAM_PATH = '/v1/courier/stream';

const plain = (schema: TSchema) => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
const ref = (name: string) => ({ $ref: `#/components/messages/${name}` });
/** Either one: a bearer token, or a stream ticket in the query. */
const security = [{ $ref: '#/components/securitySchemes/bearer' }, { $ref: '#/components/securitySchemes/ticket' }];

const closeCodes = Object.values(CLOSE)
  .map((c) => `\`${c.code}\` ${c.reason}`)
  .join('; ');

/**
 * The courier socket described as AsyncAPI 3.0, built from the very schemas the socket validates with
 * (courier-messages.ts). The application described is the dabba server: it receives the courier's
 * messages and sends its own.
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0
 */
export function asyncApiDocument() {
  const messages = Object.fromEntries(
    Object.entries({ ...ClientMessages, ...ServerMessages }).map(([name, schema]) => [
      name,
      { name, contentType: 'application/json', summary: (schema as { description?: string }).description, payload: { $ref: `#/components/schemas/${name}` } },
    ]),
  );
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'dabba courier socket',
      version: '1.0.0',
      description:
        'A courier\'s WebSocket: positions and offer answers in, offers and order moves out. JSON text frames, ' +
        `each an object with a \`type\`; a message over ${MAX_MESSAGE_BYTES} bytes, binary, or not matching its schema is ` +
        `answered with an \`error\` and the socket stays open (a frame over ${MAX_FRAME_BYTES} bytes closes it with 1009). ` +
        `The server pings; a peer that does not answer is disconnected. Close codes: ${closeCodes}.`,
    },
    channels: {
      courierStream: {
        address: COURIER_STREAM_PATH,
        title: 'One courier\'s socket',
        description:
          'Open with `GET /v1/courier/stream` as a WebSocket upgrade, signed in as a courier: `Authorization: Bearer <token>`, ' +
          'or `?ticket=` from `POST /v1/courier/stream-ticket` (browsers cannot set headers on a WebSocket). One socket per ' +
          'courier: a newer one replaces the older.',
        messages: Object.fromEntries(Object.keys(messages).map((name) => [name, ref(name)])),
        bindings: {
          ws: {
            method: 'GET',
            query: { type: 'object', properties: { ticket: { type: 'string', description: 'a stream ticket, instead of the Authorization header' } } },
          },
        },
      },
    },
    operations: {
      receiveFromCourier: {
        action: 'receive',
        channel: { $ref: '#/channels/courierStream' },
        summary: 'What a courier sends',
        security,
        messages: Object.keys(ClientMessages).map((name) => ({ $ref: `#/channels/courierStream/messages/${name}` })),
      },
      sendToCourier: {
        action: 'send',
        channel: { $ref: '#/channels/courierStream' },
        summary: 'What the server sends a courier',
        security,
        messages: Object.keys(ServerMessages).map((name) => ({ $ref: `#/channels/courierStream/messages/${name}` })),
      },
    },
    components: {
      messages,
      schemas: Object.fromEntries(Object.entries({ ...ClientMessages, ...ServerMessages }).map(([name, schema]) => [name, plain(schema)])),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        ticket: { type: 'httpApiKey', name: 'ticket', in: 'query' },
      },
    },
  };
}
