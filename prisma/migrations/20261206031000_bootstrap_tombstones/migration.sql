-- A bootstrap client deleted through the API (after a compromise, say) stays deleted when
-- the broker restarts with the same BOOTSTRAP_CLIENT_SECRET: the deletion leaves a slow
-- hash of that secret here, and start-up recreates the client only for another secret.

-- CreateTable
CREATE TABLE "bootstrap_tombstones" (
    "client_id" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "deleted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "bootstrap_tombstones_pkey" PRIMARY KEY ("client_id")
);
