import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  // For `prisma migrate status/deploy` where the schema engine exists. process.env, not
  // Prisma's env(): env() throws when the variable is unset, and the offline
  // `prisma generate` of scripts/prepare.mjs runs without a database.
  datasource: { url: process.env.DATABASE_URL ?? '' },
})
