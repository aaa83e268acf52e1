/**
 * A parsed JSON document in a test. Assertions read it field by field and check what they
 * find, so it is typed loosely on purpose: this is the one `any` of the test code.
 */
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON that the assertions inspect
export type Json = any
