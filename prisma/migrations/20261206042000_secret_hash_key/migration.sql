-- The key of the keyed fast hash (HMAC-SHA256) that verifies broker-generated client
-- secrets. Generated at first start, sealed under ENCRYPTION_KEY like the signing keys.
-- One row ('current'); the id is part of each hash so a later key can sit beside it.

-- CreateTable
CREATE TABLE "secret_hash_keys" (
    "id" TEXT NOT NULL,
    "hash_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "secret_hash_keys_pkey" PRIMARY KEY ("id")
);

-- The retention purge deletes audit events by age (store/retention.ts).
-- CreateIndex
CREATE INDEX "audit_events_occurred_at_idx" ON "audit_events"("occurred_at");
