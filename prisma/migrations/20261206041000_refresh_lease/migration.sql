-- No connection or transaction is held while the broker waits on a provider
-- (docs/decisions.md "Refresh lease"): a refresh takes a lease on the row (owner, until)
-- in a short transaction, calls the provider with no transaction open, and writes the
-- result fenced by the row's version.
-- AlterTable
ALTER TABLE "connections" ADD COLUMN     "refresh_lease_owner" TEXT,
ADD COLUMN     "refresh_lease_until" TIMESTAMPTZ(3);

-- Revocations still to be made at the provider: the tokens of a deleted connection, moved
-- here (sealed) in the transaction that deletes them, retried until the provider accepts
-- them or `give_up_at` (24 h) passes.
-- CreateTable
CREATE TABLE "revocation_queue" (
    "id" TEXT NOT NULL,
    "connection_id" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "params" JSONB NOT NULL DEFAULT '{}',
    "access_token" TEXT,
    "refresh_token" TEXT,
    "errors" TEXT[],
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL,
    "give_up_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "revocation_queue_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "revocation_queue_next_attempt_at_idx" ON "revocation_queue"("next_attempt_at");
