// The documentation cannot drift from the loader: providers.example.yaml and every
// ```yaml providers-file snippet in docs/providers-setup.md load through the real
// configuration loader (loadConfig, with each ${VAR} they use set), and each provider
// section of that guide has its entry and, for OAuth 2.0, its redirect URI.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { CATALOG } from '../../src/providers/catalog.js'

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')

/** Loads a providers-file text as the broker would, with every ${VAR} it names set. */
function load(text: string) {
  const env: Record<string, string> = { PROVIDERS_FILE: '/etc/oauth-broker/providers.yaml' }
  // References in YAML comments (`# ${PUBLIC_URL}/oauth/callback/<key>`) are prose.
  const values = text.replace(/(^|\s)#.*$/gm, '')
  for (const [, name] of values.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[name!] = `value-of-${name}`
  return loadConfig(env, (path) => {
    if (path !== env.PROVIDERS_FILE) throw Object.assign(new Error('no such file'), { code: 'ENOENT' })
    return text
  })
}

/** The ```yaml blocks of a Markdown text, de-indented (list items indent them). */
function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^([ \t]*)```yaml\n([\s\S]*?)^\1```$/gm)].map(([, indent, body]) =>
    body!
      .split('\n')
      .map((line) => (line.startsWith(indent!) ? line.slice(indent!.length) : line))
      .join('\n'),
  )
}

/** A guide's snippet is either a whole file (`providers:`) or entries to put under it. */
const asFile = (snippet: string) =>
  /^providers:/m.test(snippet) ? snippet : `providers:\n${snippet.replace(/^(?=.)/gm, '  ')}`

describe('providers.example.yaml', () => {
  it('loads, and declares the five catalog providers (inheriting the catalog) plus a custom one', () => {
    const { providers } = load(read('providers.example.yaml'))
    expect([...providers.keys()].sort()).toEqual([...Object.keys(CATALOG), 'acme'].sort())
    for (const [key, entry] of Object.entries(CATALOG)) expect(providers.get(key)?.mode, key).toBe(entry.mode)
    expect(providers.get('chatwork')).toMatchObject({
      clientId: 'value-of-CHATWORK_CLIENT_ID',
      clientSecret: 'value-of-CHATWORK_CLIENT_SECRET',
      tokenUrl: CATALOG.chatwork!.tokenUrl,
    })
    expect(providers.get('zendesk-chat')).toMatchObject({
      clientId: 'value-of-ZENDESK_CHAT_CLIENT_ID',
      authorizationUrl: CATALOG['zendesk-chat']!.authorizationUrl,
    })
  })

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the providers-file syntax under test
  it('writes every secret as a ${VAR}, never a value', () => {
    const text = read('providers.example.yaml')
    const secrets = [...text.matchAll(/^\s*(clientId|clientSecret):\s*(.*)$/gm)].map((m) => m[2])
    expect(secrets.length).toBeGreaterThanOrEqual(8)
    for (const value of secrets) expect(value).toMatch(/^\$\{[A-Z_]+\}$/)
  })
})

describe('docs/providers-setup.md', () => {
  const guide = read('docs/providers-setup.md')
  const snippets = yamlBlocks(guide)

  it('has providers-file snippets that all load', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(6)
    for (const snippet of snippets) {
      expect(() => load(asFile(snippet)), snippet).not.toThrow()
    }
  })

  it(
    'has a section per catalog provider with its providers-file entry, ' + 'and the redirect URI for OAuth 2.0 ones',
    () => {
      for (const [key, entry] of Object.entries(CATALOG)) {
        const heading = new RegExp(`^### .*\\(\`${key}\`, [^)]+\\)$`, 'm').exec(guide)
        expect(heading, key).not.toBeNull()
        const section = guide.slice(heading!.index).split(/^##+ /m)[1]!
        const entries = yamlBlocks(section).map((snippet) => [...load(asFile(snippet)).providers.keys()])
        expect(entries, key).toContainEqual([key])
        if (entry.mode === 'oauth2') expect(section, key).toContain(`\${PUBLIC_URL}/oauth/callback/${key}`)
        else expect(section, key).toMatch(/no\s+redirect\s+URI/)
      }
    },
  )

  it('would catch a drifted snippet', () => {
    expect(() =>
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a providers file
      load(asFile('chatwork:\n  clientId: ${CHATWORK_CLIENT_ID}\n  clientSecrets: ${CHATWORK_CLIENT_SECRET}\n')),
    ).toThrow(/unknown key "clientSecrets"/)
    expect(() => load(asFile('livechat:\n  clientId: x\n'))).toThrow(/providers.livechat.clientSecret: required/)
  })
})
