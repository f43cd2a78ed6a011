import Type, { type Static } from 'typebox';
import { ORDER_STATUSES, type OrderStatus, PAYMENT_STATES } from '../../domain/order-status.ts';
import { Cents, Cursor, IdParams, Latitude, Longitude, Text, Timestamp, Uuid, page, problems } from '../shared.schema.ts';

const Status = Type.Enum(ORDER_STATUSES);

export const OrderItem = Type.Object({
  line: Type.Integer(),
  menu_item_id: Uuid,
  name: Type.String(),
  unit_price_cents: Cents,
  quantity: Type.Integer(),
  line_total_cents: Cents,
});

export const Order = Type.Object({
  id: Uuid,
  status: Status,
  version: Type.Integer({ description: 'increments on every change; two racing writes cannot both win' }),
  customer_id: Uuid,
  restaurant_id: Uuid,
  courier_id: Type.Union([Uuid, Type.Null()]),
  currency: Type.String({ minLength: 3, maxLength: 3 }),
  subtotal_cents: Cents,
  delivery_fee_cents: Cents,
  total_cents: Cents,
  delivery_lat: Type.Number(),
  delivery_lng: Type.Number(),
  delivery_address: Type.String(),
  distance_km: Type.Number(),
  notes: Type.Union([Type.String(), Type.Null()]),
  status_reason: Type.Union([Type.String(), Type.Null()]),
  eta_minutes: Type.Union([Type.Integer(), Type.Null()]),
  payment_state: Type.Enum(PAYMENT_STATES, {
    description: 'pending while checkout runs; voided after a failed or cancelled order; captured on delivery',
  }),
  items: Type.Array(OrderItem),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const PlaceOrderBody = Type.Object(
  {
    restaurant_id: Uuid,
    items: Type.Array(
      Type.Object(
        {
          menu_item_id: Uuid,
          quantity: Type.Integer({ minimum: 1, maximum: 50 }),
          expected_unit_price_cents: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 10_000_000,
              description: 'the price the customer was shown; if it is no longer the price, the answer is 409 price-changed and nothing is ordered',
            }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 30 },
    ),
    delivery: Type.Object(
      { lat: Latitude, lng: Longitude, address: Text({ minLength: 1, maxLength: 300 }) },
      { additionalProperties: false },
    ),
    notes: Type.Optional(Text({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type PlaceOrderBody = Static<typeof PlaceOrderBody>;

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.String({
    minLength: 8,
    maxLength: 255,
    pattern: '^[\\x21-\\x7E]+$',
    description: 'client-chosen, unique per intended order (a UUID is ideal); retries reuse it',
  }),
});

const ListQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Cursor) },
  { additionalProperties: false },
);

const ActionBody = Type.Object(
  { reason: Type.Optional(Text({ minLength: 1, maxLength: 500 })) },
  { additionalProperties: false },
);

const auth = { security: [{ bearer: [] }] };

export const PlaceOrder = {
  ...auth,
  tags: ['orders'],
  summary: 'Place an order (customers); the same Idempotency-Key returns the same order',
  description:
    'Prices are the menu\'s. A line may say the price the customer was shown (`expected_unit_price_cents`): when any such price is no longer the price, the answer is 409 `price-changed` listing each changed line (`changes`: field, menu_item_id, shown_cents, now_cents) and nothing is ordered.',
  headers: IdempotencyHeaders,
  body: PlaceOrderBody,
  response: { 201: Order, 200: Order, ...problems(400, 401, 403, 409, 413, 415, 422) },
};
export const ListOrders = {
  ...auth,
  tags: ['orders'],
  summary: 'Orders visible to the caller, newest first',
  querystring: ListQuery,
  response: { 200: page(Order), ...problems(400, 401) },
};
export const GetOrder = {
  ...auth,
  tags: ['orders'],
  summary: 'One order with its items',
  params: IdParams,
  response: { 200: Order, ...problems(400, 401, 404) },
};
export const AssignCourier = {
  ...auth,
  tags: ['orders'],
  summary: 'Assign a courier to an order (admins, until dispatch assigns them)',
  params: IdParams,
  body: Type.Object({ courier_id: Uuid }, { additionalProperties: false }),
  response: { 200: Order, ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
};

/** Each person-driven step of an order's life is a POST on the order; who may take it is the state machine's call. */
export const ACTIONS: readonly { path: string; to: OrderStatus; summary: string }[] = [
  { path: 'cancel', to: 'cancelled', summary: 'Cancel (customer before preparing; restaurant; admin)' },
  { path: 'accept', to: 'confirmed', summary: 'Accept a placed order (restaurant)' },
  { path: 'reject', to: 'rejected', summary: 'Reject a placed order (restaurant)' },
  { path: 'preparing', to: 'preparing', summary: 'Start preparing (restaurant)' },
  { path: 'ready', to: 'ready', summary: 'Ready for pick-up (restaurant)' },
  { path: 'picked-up', to: 'picked_up', summary: 'Picked up (assigned courier)' },
  { path: 'delivered', to: 'delivered', summary: 'Delivered (assigned courier)' },
];

export function actionSchema(summary: string) {
  return {
    ...auth,
    tags: ['orders'],
    summary,
    params: IdParams,
    body: ActionBody,
    response: { 200: Order, ...problems(400, 401, 403, 404, 409, 413, 415) },
  };
}
