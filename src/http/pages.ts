// Small fixed HTML pages for browser routes (connect, callback). Nothing from the request
// is reflected; every dynamic value is escaped. No third-party content, no caching, no
// referrer. (docs/security.md, checklist items 5 and 7)
import type { FastifyReply } from 'fastify'
import { CONNECT_ERRORS, PROBLEMS, type ProblemCode } from '../errors.js'

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * `formTarget`: the service's return URL a form on the page ends on. Chromium and WebKit
 * check `form-action` against every redirect of the submission too, so the page names
 * that URL's origin (docs/decisions.md, "The connect form's CSP names the return URL's
 * origin").
 */
export function browserHeaders(reply: FastifyReply, formTarget?: string | null): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header(
      'content-security-policy',
      `default-src 'none'; style-src 'unsafe-inline'; form-action ${formActionSources(formTarget)}; ` +
        "frame-ancestors 'none'; base-uri 'none'",
    )
}

/**
 * `'self'`, and the origin of `formTarget` when a CSP host-source can name it
 * (no IPv6 literal, nothing that ends the directive).
 */
export function formActionSources(formTarget: string | null | undefined): string {
  const origin = formTarget && URL.canParse(formTarget) ? new URL(formTarget).origin : ''
  return /^https?:\/\/[a-z0-9.-]+(:\d+)?$/.test(origin) ? `'self' ${origin}` : "'self'"
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}code{background:#f3f3f3;padding:0 .2rem}</style>
</head><body>${body}</body></html>`
}

/** A fixed error page: the code is one of ours, its message from our registries. */
export function errorPage(reply: FastifyReply, status: number, code: string): FastifyReply {
  const message =
    (CONNECT_ERRORS as Record<string, { title: string }>)[code]?.title ??
    (PROBLEMS as Record<string, { title: string }>)[code]?.title ??
    'The request failed.'
  return browserHeaders(reply)
    .code(status)
    .type('text/html; charset=utf-8')
    .send(
      page(
        'Connection failed',
        `<h1>Connection failed</h1><p>${escapeHtml(message)}</p><p>Error code: ` +
          `<code>${escapeHtml(code)}</code></p><p>You can close this window and try again from the application.</p>`,
      ),
    )
}

export function renderErrorPage(reply: FastifyReply, code: ProblemCode): FastifyReply {
  return errorPage(reply, PROBLEMS[code].status, code)
}

/** The connect form of API-key and credential-exchange providers. */
export function formPage(
  reply: FastifyReply,
  form: {
    action: string
    attempt: string
    provider: {
      displayName: string
      credentialFields: Array<{ name: string; label: string; kind: string; help?: string }>
    }
    /** The session's return URL, where the submission's answer redirects. */
    returnUrl: string | null
    error?: string
    status?: number
  },
): FastifyReply {
  const inputs = form.provider.credentialFields
    .map((f) => {
      const type = f.kind === 'secret' ? 'password' : f.kind === 'url' ? 'url' : 'text'
      const help = f.help ? `<br><small>${escapeHtml(f.help)}</small>` : ''
      return (
        `<p><label for="${escapeHtml(f.name)}">${escapeHtml(f.label)}</label><br><input ` +
        `id="${escapeHtml(f.name)}" name="${escapeHtml(f.name)}" type="${type}" ` +
        `required autocomplete="off" spellcheck="false" style="width:100%">${help}</p>`
      )
    })
    .join('')
  const error = form.error ? `<p role="alert" style="color:#a00">${escapeHtml(form.error)}</p>` : ''
  return browserHeaders(reply, form.returnUrl)
    .code(form.status ?? 200)
    .type('text/html; charset=utf-8')
    .send(
      page(
        `Connect ${form.provider.displayName}`,
        `<h1>Connect ${escapeHtml(form.provider.displayName)}</h1>${error}<form ` +
          `method="post" action="${escapeHtml(form.action)}">` +
          `<input type="hidden" name="attempt" value="${escapeHtml(form.attempt)}">${inputs}<p><button ` +
          'id="connect" type="submit">Connect</button></p></form>',
      ),
    )
}

export function successPage(reply: FastifyReply, providerName: string): FastifyReply {
  return browserHeaders(reply)
    .code(200)
    .type('text/html; charset=utf-8')
    .send(
      page(
        'Connected',
        `<h1>Connected</h1><p>Your ${escapeHtml(providerName)} account is connected. You can close this window.</p>`,
      ),
    )
}
