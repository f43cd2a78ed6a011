import type { App } from '../../app.types.ts';
import { ACTIONS, AssignCourier, GetOrder, ListOrders, PlaceOrder, actionSchema } from './schema.ts';

export default async function orderRoutes(app: App) {
  const orders = app.services.orders;
  const signedIn = app.requireRole();

  app.post('/v1/orders', { schema: PlaceOrder, onRequest: app.requireRole('customer') }, async (req, reply) => {
    const { order, created } = await orders.place(req.user, req.body, req.headers['idempotency-key']);
    if (!created) void reply.header('idempotent-replayed', 'true');
    return reply.code(created ? 201 : 200).send(order);
  });

  app.get('/v1/orders', { schema: ListOrders, onRequest: signedIn }, async (req) => orders.list(req.user, req.query));

  app.get('/v1/orders/:id', { schema: GetOrder, onRequest: signedIn }, async (req) =>
    orders.get(req.user, req.params.id),
  );

  for (const action of ACTIONS) {
    app.post(
      `/v1/orders/:id/${action.path}`,
      {
        schema: actionSchema(action.summary),
        onRequest: signedIn,
        // The reason is optional, so a bare `POST` with no body is a valid action.
        preValidation: async (req) => {
          req.body ??= {};
        },
      },
      async (req) => orders.transition(req.user, req.params.id, action.to, req.body.reason),
    );
  }

  app.post('/v1/orders/:id/assign', { schema: AssignCourier, onRequest: app.requireRole('admin') }, async (req) =>
    orders.assignCourier(req.user, req.params.id, req.body.courier_id),
  );
}
