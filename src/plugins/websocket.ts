import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { CLOSE, MAX_FRAME_BYTES } from '../live/courier-messages.ts';

/**
 * WebSocket upgrades through Fastify's routing, so a socket route has the same hooks (authentication,
 * validation) as any other and is refused with a problem before any upgrade. Two choices differ from
 * the plugin's defaults: on shutdown couriers are told to reconnect elsewhere (1012) instead of a bare
 * close, and a socket's error (a protocol violation, a frame over MAX_FRAME_BYTES) is logged and lets
 * ws finish its close handshake (1002, 1009), where the default cuts the connection without a reason.
 * @see https://github.com/fastify/fastify-websocket#options
 */
async function sockets(app: FastifyInstance) {
  await app.register(websocket, {
    options: { maxPayload: MAX_FRAME_BYTES },
    preClose(done) {
      app.services.courierStream.closeAll();
      done();
    },
    errorHandler(err, socket, req) {
      req.log.info({ err }, 'websocket error');
      if (socket.readyState === socket.OPEN) socket.close(CLOSE.internal.code, CLOSE.internal.reason);
    },
  });
}

export default fp(sockets, { name: 'websocket', dependencies: ['services'] });
