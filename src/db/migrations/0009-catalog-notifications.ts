import { type Kysely, sql } from 'kysely';

/**
 * Every node keeps the feed's copy of the restaurants and their synced menus in memory (FeedDirectory)
 * and must hear of any change to them, whoever makes it: an owner on another node, the menu sync on
 * whichever node ran it, an operator's SQL. Triggers make the database say so on commit, so no writer
 * can forget to: `dabba_restaurants` (no payload: the directory reloads) when a restaurant is added,
 * removed or changes a column the feed shows, and `dabba_menus` with the restaurant ids whose items
 * changed, or `*` when there are too many for one notification (PostgreSQL's limit is 8000 bytes).
 * Statement-level, so a sync of forty items is one notification, and PostgreSQL folds repeats within
 * a transaction into one.
 * @see https://www.postgresql.org/docs/current/sql-notify.html
 */
export async function up(db: Kysely<unknown>) {
  await sql`
    CREATE FUNCTION dabba_notify_restaurants() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('dabba_restaurants', '');
      RETURN NULL;
    END $$;

    CREATE TRIGGER restaurants_notify_rows AFTER INSERT OR DELETE OR TRUNCATE ON restaurants
      FOR EACH STATEMENT EXECUTE FUNCTION dabba_notify_restaurants();
    CREATE TRIGGER restaurants_notify_shown AFTER UPDATE OF name, cuisine, address, lat, lng, delivery_radius_km,
      prep_minutes, pos_integrated, is_open, rating, owner_id ON restaurants
      FOR EACH STATEMENT EXECUTE FUNCTION dabba_notify_restaurants();

    CREATE FUNCTION dabba_notify_menus() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ids text;
    BEGIN
      SELECT string_agg(DISTINCT restaurant_id::text, ',') INTO ids FROM changed;
      IF ids IS NOT NULL THEN
        PERFORM pg_notify('dabba_menus', CASE WHEN length(ids) > 7000 THEN '*' ELSE ids END);
      END IF;
      RETURN NULL;
    END $$;

    CREATE TRIGGER menu_items_notify_insert AFTER INSERT ON menu_items
      REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION dabba_notify_menus();
    CREATE TRIGGER menu_items_notify_update AFTER UPDATE ON menu_items
      REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION dabba_notify_menus();
    CREATE TRIGGER menu_items_notify_delete AFTER DELETE ON menu_items
      REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION dabba_notify_menus();
  `.execute(db);
}

export async function down(db: Kysely<unknown>) {
  await sql`
    DROP TRIGGER menu_items_notify_delete ON menu_items;
    DROP TRIGGER menu_items_notify_update ON menu_items;
    DROP TRIGGER menu_items_notify_insert ON menu_items;
    DROP FUNCTION dabba_notify_menus();
    DROP TRIGGER restaurants_notify_shown ON restaurants;
    DROP TRIGGER restaurants_notify_rows ON restaurants;
    DROP FUNCTION dabba_notify_restaurants();
  `.execute(db);
}
