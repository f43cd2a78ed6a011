import Type from 'typebox';
import { Timestamp, Uuid, problems } from '../shared.schema.ts';

const DeadLetter = Type.Object({
  id: Uuid,
  queue: Type.Union([Type.String(), Type.Null()], { description: 'the follow-up that failed: notify, capture or compensate' }),
  order_id: Uuid,
  status: Type.String({ description: 'the status change that owed the follow-up' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why its last attempt failed' }),
  dead_since: Timestamp,
});

export const ListDeadLetters = {
  tags: ['ops'],
  summary: 'Follow-ups that exhausted their retries (admin)',
  security: [{ bearer: [] }],
  response: { 200: Type.Object({ items: Type.Array(DeadLetter) }), ...problems(401, 403) },
};

export const ResendDeadLetters = {
  tags: ['ops'],
  summary: 'Send dead-lettered follow-ups back to their queues with fresh retries (admin)',
  security: [{ bearer: [] }],
  body: Type.Object({ ids: Type.Array(Uuid, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false }),
  response: {
    200: Type.Object({ resent: Type.Integer({ description: 'how many were found in the dead letters and sent back' }) }),
    ...problems(400, 401, 403),
  },
};
