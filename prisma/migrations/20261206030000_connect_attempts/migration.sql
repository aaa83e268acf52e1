-- Connect attempts in several browsers: each opening of a connect URL is a row of its own
-- (state, browser binding, sealed PKCE verifier), so a later opening (another browser, a
-- mail scanner) no longer overwrites the attempt in progress. The session keeps `used_at`:
-- the first attempt to complete sets it, and the others end there. `attempt_count` bounds
-- the openings of one session.
-- Attempts in progress during the upgrade are dropped with the old columns: their browsers
-- see invalid_state and open the connect URL again (the session stays usable).

-- DropIndex
DROP INDEX "connect_sessions_state_hash_key";

-- AlterTable
ALTER TABLE "connect_sessions" DROP COLUMN "state_hash",
DROP COLUMN "browser_hash",
DROP COLUMN "code_verifier",
DROP COLUMN "started_at",
ADD COLUMN "attempt_count" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "connect_attempts" (
    "state_hash" TEXT NOT NULL,
    "session_id" TEXT NOT NULL,
    "browser_hash" TEXT NOT NULL,
    "code_verifier" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "connect_attempts_pkey" PRIMARY KEY ("state_hash")
);

-- CreateIndex
CREATE INDEX "connect_attempts_session_id_idx" ON "connect_attempts"("session_id");

-- AddForeignKey
ALTER TABLE "connect_attempts" ADD CONSTRAINT "connect_attempts_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "connect_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
