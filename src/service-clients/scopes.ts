// The scopes a service client can hold; each /v1 route requires exactly one of them.
export const SCOPES = [
  'connect:write',
  'connections:write',
  'connections:read',
  'connections:revoke',
  'tokens:read',
  'clients:admin',
  'webhooks:write',
] as const
export type Scope = (typeof SCOPES)[number]

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value)
}
