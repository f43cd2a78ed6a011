import { type Kysely, sql } from 'kysely';

/**
 * The catalog partner is each restaurant's menu system; `menu_items` is dabba's synced copy.
 *
 * - `catalog_item_id`: the item's id in the catalog, unique per restaurant. Existing rows, and rows
 *   inserted without one (the demo seed, tests, SQL by hand), take their own uuid: an item dabba made
 *   is known to the catalog by dabba's id.
 * - `catalog_price_cents`, `catalog_available`: the catalog's values as the last sync saw them. A sync
 *   overwrites dabba's price or availability only when the catalog's value differs from these, so an
 *   owner's edit stands until the catalog itself changes that field (the newer change wins). NULL: never seen.
 * - `synced_at`: when a sync last saw the item in the catalog (a vanished item keeps its last sighting).
 * - `restaurants.menu_synced_at`: the last successful sync; `menu_sync_error`: why the last attempt
 *   failed (NULL when it succeeded). Either makes the menu stale.
 * - `menu_item_changes`: every change of a name, price or availability, by the catalog or an owner.
 *   Items are never deleted (order_items reference them), so neither are their changes.
 */
export async function up(db: Kysely<unknown>) {
  await sql`
    ALTER TABLE menu_items
      ADD COLUMN catalog_item_id text,
      ADD COLUMN catalog_price_cents integer,
      ADD COLUMN catalog_available boolean,
      ADD COLUMN synced_at timestamptz;
    UPDATE menu_items SET catalog_item_id = id::text;
    ALTER TABLE menu_items
      ALTER COLUMN catalog_item_id SET NOT NULL,
      ADD CONSTRAINT menu_items_catalog_item_id_length CHECK (length(catalog_item_id) BETWEEN 1 AND 128),
      ADD CONSTRAINT menu_items_catalog_item UNIQUE (restaurant_id, catalog_item_id);

    CREATE FUNCTION menu_items_default_catalog_item_id() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.catalog_item_id := coalesce(NEW.catalog_item_id, NEW.id::text);
      RETURN NEW;
    END $$;
    CREATE TRIGGER menu_items_catalog_item_id BEFORE INSERT ON menu_items
      FOR EACH ROW EXECUTE FUNCTION menu_items_default_catalog_item_id();

    ALTER TABLE restaurants
      ADD COLUMN menu_synced_at timestamptz,
      ADD COLUMN menu_sync_error text;

    CREATE TABLE menu_item_changes (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      menu_item_id uuid NOT NULL REFERENCES menu_items (id) ON DELETE CASCADE,
      field text NOT NULL CHECK (field IN ('name', 'price_cents', 'is_available')),
      old_value jsonb,
      new_value jsonb NOT NULL,
      source text NOT NULL CHECK (source IN ('catalog', 'owner')),
      actor_id uuid REFERENCES users (id),
      changed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX menu_item_changes_item_idx ON menu_item_changes (menu_item_id, changed_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>) {
  await sql`
    DROP TABLE menu_item_changes;
    ALTER TABLE restaurants DROP COLUMN menu_synced_at, DROP COLUMN menu_sync_error;
    DROP TRIGGER menu_items_catalog_item_id ON menu_items;
    DROP FUNCTION menu_items_default_catalog_item_id();
    ALTER TABLE menu_items
      DROP COLUMN catalog_item_id,
      DROP COLUMN catalog_price_cents,
      DROP COLUMN catalog_available,
      DROP COLUMN synced_at;
  `.execute(db);
}
