import type { App } from '../../app.types.ts';
import { GetMenu, GetRestaurant, ListNearby, ListOwned, PatchMenuItem, PatchRestaurant } from './schema.ts';

export default async function restaurantRoutes(app: App) {
  const restaurants = app.services.restaurants;
  const owners = app.requireRole('restaurant', 'admin');

  app.get('/v1/restaurants', { schema: ListNearby }, async (req) => restaurants.nearby(req.query));

  app.get('/v1/restaurants/mine', { schema: ListOwned, onRequest: app.requireRole('restaurant') }, async (req) => restaurants.owned(req.user));

  app.get('/v1/restaurants/:id', { schema: GetRestaurant }, async (req) => restaurants.get(req.params.id));

  app.get('/v1/restaurants/:id/menu', { schema: GetMenu }, async (req) => restaurants.menu(req.params.id));

  app.patch('/v1/restaurants/:id', { schema: PatchRestaurant, onRequest: owners }, async (req) =>
    restaurants.setOpen(req.user, req.params.id, req.body.is_open),
  );

  app.patch('/v1/restaurants/:id/menu/:itemId', { schema: PatchMenuItem, onRequest: owners }, async (req) =>
    restaurants.updateMenuItem(req.user, req.params.id, req.params.itemId, req.body),
  );
}
