// Browser routes of the connect flow: the connect URL a service sends its user to (a
// redirect to the provider, or the broker's own form for API-key and credential-exchange
// providers), the form's submission, and the provider's callback. Answers are redirects
// or small fixed HTML pages with no-store / no-referrer headers; nothing from the request
// is reflected.
import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { ConnectError } from '../../errors.js'
import { bindingCookieName, FormRefused } from '../../connections/connect.js'
import type { Services } from '../../services.js'
import { browserHeaders, errorPage, formPage, successPage } from '../pages.js'
import { perMinute } from '../rate-limits.js'
import { CallbackParams, CallbackQuery, ConnectParams, FormBody, html, redirect } from '../schemas/connect.js'

const TOKEN = /^[A-Za-z0-9_-]{43}$/

export const connectRoutes: FastifyPluginAsyncTypebox<Services> = async (app, { connect, config }) => {
  // Over https binding cookies are `__Host-` cookies (Secure, Path=/, no Domain); over
  // http (loopback development only, see config.ts) they keep narrow paths.
  const secure = config.publicUrl.startsWith('https:')
  const callbackCookie = { httpOnly: true, sameSite: 'lax' as const, secure, path: secure ? '/' : '/oauth/callback' }
  const formCookie = { httpOnly: true, sameSite: 'lax' as const, secure, path: secure ? '/' : '/connect' }
  const cookieName = (state: string) => bindingCookieName(state, secure)
  const rateLimit = perMinute(config.rateLimits.browser)
  await app.register(formbody, { bodyLimit: 16 * 1024 })
  app.removeContentTypeParser('application/json')

  const start = {
    summary: 'Start a connect attempt (the URL a service sends its user to)',
    description:
      'OAuth 2.0 providers: binds the attempt to this browser with an HttpOnly SameSite=Lax cookie ' +
      'and redirects to the provider with state and PKCE S256. ' +
      'API-key and credential-exchange providers: shows a form for the credentials. ' +
      'Each opening starts an attempt of its own (at most 10 per link); the first to complete wins. ' +
      '`HEAD` starts none: it answers 200 for a usable link.',
    tags: ['connect'],
    params: ConnectParams,
  }

  app.get(
    '/connect/:token',
    {
      schema: {
        ...start,
        operationId: 'startConnect',
        response: {
          200: html('The credentials form (API-key and credential-exchange providers); for HEAD, a usable link'),
          302: redirect("Redirect to the provider's authorization endpoint"),
          400: html('The link was used, expired, or opened too many times'),
          404: html('Unknown link'),
          429: html('Rate limited'),
          500: html('Internal error'),
          503: html('The provider or the database is unavailable, or the broker is shutting down'),
        },
      },
      config: { browser: true, rateLimit },
    },
    async (request, reply) => {
      const { token } = request.params
      if (!TOKEN.test(token)) return errorPage(reply, 404, 'session_not_found')
      try {
        // A HEAD (a link checker, a mail scanner) must not start an attempt.
        if (request.method === 'HEAD') {
          await connect.check(token)
          return browserHeaders(reply).code(200).type('text/html; charset=utf-8').send()
        }
        const started = await connect.start(token)
        if (started.kind === 'redirect') {
          reply.setCookie(started.binding.name, started.binding.value, {
            ...callbackCookie,
            maxAge: started.binding.maxAgeSeconds,
          })
          return browserHeaders(reply).redirect(started.redirectUrl, 302)
        }
        reply.setCookie(started.binding.name, started.binding.value, {
          ...formCookie,
          maxAge: started.binding.maxAgeSeconds,
        })
        return formPage(reply, {
          action: `/connect/${token}`,
          attempt: started.attempt,
          provider: started.provider,
          returnUrl: started.returnUrl,
        })
      } catch (err) {
        if (err instanceof ConnectError) return errorPage(reply, err.status, err.code)
        throw err
      }
    },
  )

  app.post(
    '/connect/:token',
    {
      schema: {
        operationId: 'submitConnectForm',
        summary: 'Submit the connect form (API-key and credential-exchange providers)',
        description:
          'Checks the credentials with the provider, stores them encrypted, and ends like a ' +
          'callback: a redirect to returnUrl with connection_id and status=connected ' +
          '(status=pending_confirmation with a confirmation_code for a session with confirm), or a page.',
        tags: ['connect'],
        params: ConnectParams,
        consumes: ['application/x-www-form-urlencoded'],
        body: FormBody,
        response: {
          200: html('Connected (no returnUrl)'),
          302: redirect(
            'Back to the service: returnUrl with connection_id and status=connected (or ' +
              'status=pending_confirmation&confirmation_code=…), or status=error&error=<code>',
          ),
          400: html(
            'Refused credentials (the form again, with the reason), an invalid attempt, ' +
              'or a session another attempt completed first',
          ),
          404: html('Unknown link'),
          409: html('The connection to re-authorize no longer exists'),
          413: html('Body too large'),
          415: html('Not a form'),
          429: html('Rate limited'),
          500: html('Internal error'),
          503: html('The provider or the database is unavailable (the form again), or the broker is shutting down'),
        },
      },
      config: { browser: true, rateLimit },
    },
    async (request, reply) => {
      const { token } = request.params
      if (!TOKEN.test(token)) return errorPage(reply, 404, 'session_not_found')
      const fields = request.body
      try {
        const { connection, returnUrl, confirmationCode } = await connect.submit(token, fields, request.cookies)
        if (typeof fields.attempt === 'string') reply.clearCookie(cookieName(fields.attempt), formCookie)
        if (!returnUrl)
          return successPage(reply, config.providers.get(connection.provider)?.displayName ?? connection.provider)
        return back(reply, returnUrl, landedParams(connection.id, confirmationCode))
      } catch (err) {
        if (err instanceof FormRefused) {
          return formPage(reply, {
            action: `/connect/${token}`,
            attempt: err.attempt,
            provider: err.provider,
            returnUrl: err.returnUrl,
            error: err.reason,
            status: err.status,
          })
        }
        if (!(err instanceof ConnectError)) throw err
        if (err.returnUrl) return back(reply, err.returnUrl, { status: 'error', error: err.code })
        return errorPage(reply, err.status, err.code)
      }
    },
  )

  app.get(
    '/oauth/callback/:provider',
    {
      schema: {
        operationId: 'completeAuthorization',
        summary: "The provider's redirect back to the broker (register this as the redirect URI)",
        description:
          'Consumes the attempt once, checks the browser binding, the provider and RFC 9207 `iss`, ' +
          'exchanges the code and stores the connection. ' +
          'Ends with a redirect to the session returnUrl (`connection_id`, `status=connected` or ' +
          '`status=pending_confirmation&confirmation_code=…`, ' +
          'or `status=error&error=<code>`) or a small HTML page. ' +
          '`HEAD` is refused (400) and spends neither the attempt nor the code.',
        tags: ['connect'],
        params: CallbackParams,
        querystring: CallbackQuery,
        response: {
          200: html('Connected (no returnUrl)'),
          302: redirect(
            'Back to the service: returnUrl with connection_id and status=connected (or ' +
              'status=pending_confirmation&confirmation_code=…), or status=error&error=<code>',
          ),
          // No 404: an unknown provider path is refused by the attempt's checks (400).
          400: html(
            'Refused: invalid, replayed or expired state, another browser, wrong or unknown provider, ' +
              'wrong issuer, provider error, or a session another attempt completed first',
          ),
          409: html('The connection to re-authorize no longer exists'),
          429: html('Rate limited'),
          500: html('Internal error'),
          502: html("The provider refused the broker's client at the code exchange"),
          503: html(
            'The provider (unusable answer at the code exchange) or ' +
              'the database is unavailable, or the broker is shutting down',
          ),
        },
      },
      config: { browser: true, rateLimit },
    },
    async (request, reply) => {
      // Providers redirect with GET; a HEAD (a prefetcher, a scanner) must not spend the attempt or the code.
      if (request.method === 'HEAD') return errorPage(reply, 400, 'invalid_request')
      const { provider } = request.params
      const query = request.query
      // The binding cookie has served its purpose, whatever the outcome.
      if (query.state) reply.clearCookie(cookieName(query.state), callbackCookie)
      try {
        const { connection, returnUrl, confirmationCode } = await connect.callback(provider, query, request.cookies)
        if (!returnUrl)
          return successPage(reply, config.providers.get(connection.provider)?.displayName ?? connection.provider)
        return back(reply, returnUrl, landedParams(connection.id, confirmationCode))
      } catch (err) {
        if (!(err instanceof ConnectError)) throw err
        if (err.returnUrl) return back(reply, err.returnUrl, { status: 'error', error: err.code })
        return errorPage(reply, err.status, err.code)
      }
    },
  )
}

function back(reply: FastifyReply, returnUrl: string, params: Record<string, string>): FastifyReply {
  const url = new URL(returnUrl)
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return browserHeaders(reply).redirect(url.href, 302)
}

/** Back at the service: connected, or waiting for its confirmation with the one-time code. */
function landedParams(connectionId: string, confirmationCode: string | undefined): Record<string, string> {
  return confirmationCode
    ? { connection_id: connectionId, status: 'pending_confirmation', confirmation_code: confirmationCode }
    : { connection_id: connectionId, status: 'connected' }
}
