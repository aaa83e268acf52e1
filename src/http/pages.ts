// Small fixed HTML pages for browser routes (connect, callback). Nothing from the request
// is reflected; every dynamic value is escaped. No third-party content, no caching, no
// referrer. (SECURITY.md items 5, 7)
import type { FastifyReply } from 'fastify'
import { PROBLEMS, type ProblemCode } from '../errors.js'

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function browserHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}code{background:#f3f3f3;padding:0 .2rem}</style>
</head><body>${body}</body></html>`
}

export function renderErrorPage(reply: FastifyReply, code: ProblemCode): FastifyReply {
  const { status, title } = PROBLEMS[code]
  return browserHeaders(reply)
    .code(status)
    .type('text/html; charset=utf-8')
    .send(page('Connection failed', `<h1>Connection failed</h1><p>${escapeHtml(title)}.</p><p>Error code: <code>${escapeHtml(code)}</code></p><p>You can close this window and try again from the application.</p>`))
}
