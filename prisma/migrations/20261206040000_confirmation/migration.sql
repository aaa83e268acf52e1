-- Confirming the end user (connect-link fixation, docs/security.md): a grant from a session
-- with `confirm` waits in pending_grants until the service confirms it with the one-time
-- code the browser brought back to its returnUrl.
-- Clients that existed before this release keep working unchanged (false); clients
-- created from now on require confirmation (the column default, true).

-- AlterTable
ALTER TABLE "service_clients" ADD COLUMN "require_confirmation" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "service_clients" ALTER COLUMN "require_confirmation" SET DEFAULT true;

-- AlterTable
ALTER TABLE "connect_sessions" ADD COLUMN "confirm" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN "outcome" TEXT,
ADD COLUMN "error" TEXT;

-- CreateTable
CREATE TABLE "pending_grants" (
    "connection_id" TEXT NOT NULL,
    "session_id" TEXT NOT NULL,
    "code_hash" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "tokens" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pending_grants_pkey" PRIMARY KEY ("connection_id")
);

-- CreateIndex
CREATE INDEX "pending_grants_expires_at_idx" ON "pending_grants"("expires_at");
