-- Proactive refresh bookkeeping: a claim/backoff time and the consecutive failure count.
-- AlterTable
ALTER TABLE "connections" ADD COLUMN     "refresh_failures" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "refresh_not_before" TIMESTAMPTZ(3);
