import type { FastifyBaseLogger } from 'fastify';
import type { MenuSyncService } from '../../services/menu-sync.service.ts';

/**
 * The demo's other half: the catalog simulator that `dabba up` started, made to agree with the
 * database. The catalog is each restaurant's menu system and dabba's menu its synced copy, so in the
 * demo the simulator must list the dishes the database holds, under their catalog ids, or the first
 * sync would replace every menu with the simulator's generated one.
 */
export function simulatedCatalog(catalogUrl: string) {
  const control = `${catalogUrl.replace(/\/catalog\/?$/, '')}/_sim/catalog`;
  const put = async (path: string, body: unknown) => {
    const res = await fetch(`${control}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`catalog simulator: PUT ${path} answered ${res.status} ${await res.text()}`);
  };
  return {
    /**
     * Before the API starts: a restaurant the simulator was not given a menu for is unknown (404), so
     * a sync that runs before `load` (a schedule tick at start-up) fails and changes nothing.
     */
    holdUnknown: () => put('/settings', { generate_unknown: false }),

    /**
     * Once the API has migrated and seeded the database: every restaurant's menu goes to the simulator
     * (drifting, so prices still move and the sync carries them), then one sync, so the feed, the menu
     * and an order show the same dishes at the same prices from the first request.
     */
    async load(menuSync: MenuSyncService, log: FastifyBaseLogger) {
      const menus = await menuSync.catalogExport();
      await Promise.all(menus.map(({ restaurantId, items }) => put(`/restaurants/${restaurantId}`, { items, drift: true })));
      const synced = await menuSync.syncAll();
      log.info(
        { restaurants: menus.length, failed: synced.failed.length },
        'catalog simulator loaded with the menus in the database, and menus synced from it',
      );
    },
  };
}
