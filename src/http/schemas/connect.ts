// Schemas of the browser routes of the connect flow (routes/connect.ts). Answers are HTML
// pages or redirects, never JSON.
import { Type } from 'typebox'
import { PARAM_NAME_PATTERN } from '../../providers/schema.js'

export const html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } })
export const redirect = (description: string) => ({
  description,
  headers: { location: { type: 'string' } },
  type: 'null',
})

export const ConnectParams = Type.Object({ token: Type.String({ maxLength: 100 }) }, { additionalProperties: false })
// Any provider path is taken and refused by the attempt's checks (400), never a 404.
export const CallbackParams = Type.Object({ provider: Type.String({ maxLength: 63 }) }, { additionalProperties: false })
export const CallbackQuery = Type.Object(
  {
    state: Type.Optional(Type.String({ maxLength: 512 })),
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    iss: Type.Optional(Type.String({ maxLength: 2048 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    error_description: Type.Optional(Type.String({ maxLength: 4096 })),
    error_uri: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  // Providers add their own parameters (session_state, scope, ...). A repeated known
  // parameter arrives as an array and fails its string type: refused.
  // (docs/security.md, checklist item 8)
  { additionalProperties: true },
)
// Field names come from the provider's credential fields; a repeated field is an array: refused.
export const FormBody = Type.Record(Type.String({ pattern: PARAM_NAME_PATTERN }), Type.String({ maxLength: 4096 }), {
  additionalProperties: false,
  maxProperties: 12,
})
