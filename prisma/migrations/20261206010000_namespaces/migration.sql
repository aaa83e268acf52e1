-- Namespaces: who may touch which connection. Existing deployments keep working: their
-- connections and pending connect sessions go to "default", their service clients hold
-- ["default"], and the bootstrap client (the one whose creation was recorded with actor
-- "bootstrap") holds ["*"]. The defaults only fill existing rows: the broker names the
-- namespace of every new row itself.

-- AlterTable
ALTER TABLE "connections" ADD COLUMN "namespace" TEXT NOT NULL DEFAULT 'default';
ALTER TABLE "connections" ALTER COLUMN "namespace" DROP DEFAULT;

-- AlterTable
ALTER TABLE "connect_sessions" ADD COLUMN "namespace" TEXT NOT NULL DEFAULT 'default';
ALTER TABLE "connect_sessions" ALTER COLUMN "namespace" DROP DEFAULT;

-- AlterTable
-- (Nullable like every Prisma list column, such as "scopes"; the broker always writes it.)
ALTER TABLE "service_clients" ADD COLUMN "namespaces" TEXT[] DEFAULT ARRAY['default']::TEXT[];
ALTER TABLE "service_clients" ALTER COLUMN "namespaces" DROP DEFAULT;
UPDATE "service_clients" SET "namespaces" = ARRAY['*']::TEXT[]
WHERE "id" IN (SELECT "detail"->>'clientId' FROM "audit_events" WHERE "actor" = 'bootstrap' AND "type" = 'service_client.created');

-- AlterTable: null for events about no connection (service clients, signing keys)
ALTER TABLE "audit_events" ADD COLUMN "namespace" TEXT;
UPDATE "audit_events" SET "namespace" = 'default' WHERE "connection_id" IS NOT NULL;

-- CreateIndex: lists filtered by namespace, in id order
CREATE INDEX "connections_namespace_id_idx" ON "connections"("namespace", "id");
