// The CSP `form-action` of the connect form's page: the broker itself and the origin of
// the session's return URL, which the submission's answer redirects to (browsers check the
// redirect against it). Only an origin a CSP host-source can name gets in, so a return
// URL can never add a directive or a wildcard.
import { describe, expect, it } from 'vitest'
import { formActionSources } from '../../src/http/pages.js'

describe('formActionSources', () => {
  it("is 'self' plus the return URL's origin, normalized", () => {
    expect(formActionSources('https://App.Example.com:443/integrations/done?x=1')).toBe(
      "'self' https://app.example.com",
    )
    expect(formActionSources('http://127.0.0.1:8080/back')).toBe("'self' http://127.0.0.1:8080")
    expect(formActionSources('https://bücher.example/cb')).toBe("'self' https://xn--bcher-kva.example")
  })

  it("is 'self' alone without a return URL, or for one a host-source cannot name", () => {
    expect(formActionSources(null)).toBe("'self'")
    expect(formActionSources(undefined)).toBe("'self'")
    expect(formActionSources('not a url')).toBe("'self'")
    for (const hostile of [
      'http://a;script-src/',
      'http://a,b/',
      "http://a'b/",
      'http://*.example.com/',
      'http://[::1]:3000/',
      'ftp://files.example.com/',
    ]) {
      expect(formActionSources(hostile), hostile).toBe("'self'")
    }
  })
})
