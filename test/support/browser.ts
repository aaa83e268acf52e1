// A minimal browser for HTTP-level flow tests: a cookie jar (name, value, path, with the
// attributes the broker sets) and manual redirects, so each hop can be inspected. A real
// headless Chromium comes from launchBrowser (test/support/chromium.ts).
export { launchBrowser } from './chromium.js'

export class Browser {
  cookies = new Map<
    string,
    { value: string; path: string; httpOnly: boolean; sameSite: string | undefined; expired: boolean }
  >()

  async get(url: string | URL): Promise<Response> {
    return this.send(url)
  }

  /** Submits a form as a browser does (application/x-www-form-urlencoded). */
  async post(url: string | URL, form: Record<string, string>): Promise<Response> {
    return this.send(url, new URLSearchParams(form).toString())
  }

  private async send(url: string | URL, form?: string): Promise<Response> {
    const target = new URL(url)
    const cookie = [...this.cookies]
      .filter(([, c]) => !c.expired && target.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ')
    const headers: Record<string, string> = cookie ? { cookie } : {}
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
    const res = await fetch(target, {
      method: form === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers,
      body: form,
    })
    for (const header of res.headers.getSetCookie()) this.store(header)
    return res
  }

  private store(header: string) {
    const [pair, ...attrs] = header.split(';').map((s) => s.trim())
    const eq = pair!.indexOf('=')
    const name = pair!.slice(0, eq)
    const value = pair!.slice(eq + 1)
    const attr = (n: string) => attrs.find((a) => a.toLowerCase().startsWith(`${n.toLowerCase()}=`))?.split('=')[1]
    const maxAge = attr('Max-Age')
    const expires = attr('Expires')
    this.cookies.set(name, {
      value,
      path: attr('Path') ?? '/',
      httpOnly: attrs.some((a) => a.toLowerCase() === 'httponly'),
      sameSite: attr('SameSite'),
      expired: value === '' || maxAge === '0' || (expires !== undefined && new Date(expires) < new Date()),
    })
  }
}
