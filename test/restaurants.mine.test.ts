import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRestaurant, createUser, setup } from './helper.ts';

const ctx = await setup({ background: false });

describe('GET /v1/restaurants/mine', () => {
  it("lists the owner's own restaurants by name, and no one else's", async () => {
    const [owner, other] = await Promise.all([createUser(ctx, 'restaurant'), createUser(ctx, 'restaurant')]);
    const zaffran = await createRestaurant(ctx, owner!, { name: 'Zaffran' });
    const anand = await createRestaurant(ctx, owner!, { name: 'Anand Bhavan' });
    await createRestaurant(ctx, other!, { name: 'Not Mine' });
    const res = await ctx.app.inject({ url: '/v1/restaurants/mine', headers: owner!.auth });
    assert.equal(res.statusCode, 200, res.body);
    const { items } = res.json() as { items: { id: string; name: string; owner_id?: string }[] };
    assert.deepEqual(
      items.map((r) => r.id),
      [anand.id, zaffran.id],
    );
    assert.equal(items[0]!.owner_id, undefined, 'owner ids stay private');
  });

  it('is for restaurant owners only', async () => {
    const customer = await createUser(ctx, 'customer');
    assert.equal((await ctx.app.inject({ url: '/v1/restaurants/mine', headers: customer.auth })).statusCode, 403);
    assert.equal((await ctx.app.inject({ url: '/v1/restaurants/mine' })).statusCode, 401);
  });
});
