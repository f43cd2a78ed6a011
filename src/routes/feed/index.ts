import type { App } from '../../app.types.ts';
import { GetFeed } from './schema.ts';

export default async function feedRoutes(app: App) {
  app.get('/v1/feed', { schema: GetFeed, config: { maxInFlight: app.config.feed.maxInFlight } }, async (req) =>
    app.services.feed.feed(req.query, req.signal),
  );
}
