import Type, { type Static } from 'typebox';
import { Text, Timestamp, Uuid, problems } from '../shared.schema.ts';

// The email format already refuses NUL and every other control character.
const Email = Type.String({ format: 'email', maxLength: 254 });
const Role = Type.Union([Type.Literal('customer'), Type.Literal('restaurant'), Type.Literal('courier'), Type.Literal('admin')]);

export const User = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: Role,
});

const Session = Type.Object({
  token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds until the token expires' }),
  user: User,
});

export const RegisterBody = Type.Object(
  {
    email: Email,
    password: Text({ minLength: 10, maxLength: 200 }),
    name: Text({ minLength: 1, maxLength: 100 }),
  },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object(
  { email: Email, password: Text({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const Register = {
  tags: ['auth'],
  summary: 'Create a customer account',
  body: RegisterBody,
  response: { 201: Session, ...problems(400, 409, 413, 415) },
};

export const Login = {
  tags: ['auth'],
  summary: 'Exchange email and password for a bearer token',
  description:
    'After LOGIN_MAX_FAILURES (5) failed attempts for one email within LOGIN_LOCKOUT_SECONDS (900), every attempt for ' +
    'it is refused with 429 and Retry-After for as long, whether or not an account has that email.',
  body: LoginBody,
  response: { 200: Session, ...problems(400, 401, 413, 415, 429) },
};

export const Logout = {
  tags: ['auth'],
  summary: 'Log out everywhere: every token of the account stops working',
  description: 'At once on the node that answers, and on every other within AUTH_CACHE_TTL_MS (15 s).',
  security: [{ bearer: [] }],
  response: { 204: Type.Null({ description: 'Every token of the account is revoked' }), ...problems(401) },
};

export const Me = {
  tags: ['auth'],
  summary: 'The signed-in account',
  security: [{ bearer: [] }],
  response: { 200: Type.Intersect([User, Type.Object({ created_at: Timestamp })]), ...problems(401) },
};

export const StreamTicket = {
  tags: ['auth'],
  summary: 'A short-lived ticket for opening live streams where headers cannot be set',
  description:
    'For a browser\'s EventSource (the SSE routes take it as `?ticket=`), valid for STREAM_TICKET_TTL_SECONDS (30). It is not an API ' +
    'token, and an API token is not a ticket; a logout revokes it with the account\'s other tokens.',
  security: [{ bearer: [] }],
  response: {
    200: Type.Object({ ticket: Type.String(), expires_in: Type.Integer({ description: 'seconds until the ticket expires' }) }),
    ...problems(401),
  },
};
