declare module 'fastify' {
  interface FastifyContextConfig {
    /** A long-lived connection (SSE, WebSocket): see LIVE_ROUTE. */
    live?: boolean;
  }
}

/**
 * The route config of a long-lived connection (an SSE stream, a WebSocket): it holds no admission
 * slot for its whole life (admission bounds requests, and a stream would hold one for hours; its own
 * limits are its bounded buffer and the live connection gauges), and it is neither a request in flight
 * nor a latency sample, which would count every open stream as a slow request.
 */
export const LIVE_ROUTE = { maxInFlight: 0, live: true };
