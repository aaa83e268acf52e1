-- CreateTable
CREATE TABLE "connect_sessions" (
    "id" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "return_url" TEXT,
    "params" JSONB NOT NULL DEFAULT '{}',
    "scopes" TEXT[],
    "connection_id" TEXT,
    "state_hash" TEXT,
    "browser_hash" TEXT,
    "code_verifier" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "connect_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connections" (
    "id" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "scopes" TEXT[],
    "access_token" TEXT,
    "refresh_token" TEXT,
    "token_type" TEXT NOT NULL DEFAULT 'Bearer',
    "expires_at" TIMESTAMPTZ(3),
    "token_obtained_at" TIMESTAMPTZ(3),
    "refresh_token_expires_at" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 0,
    "params" JSONB NOT NULL DEFAULT '{}',
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_refreshed_at" TIMESTAMPTZ(3),
    "last_error_code" TEXT,
    "last_error_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "connections_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "connect_sessions_token_hash_key" ON "connect_sessions"("token_hash");

-- CreateIndex
CREATE UNIQUE INDEX "connect_sessions_state_hash_key" ON "connect_sessions"("state_hash");

-- CreateIndex
CREATE INDEX "connect_sessions_expires_at_idx" ON "connect_sessions"("expires_at");

-- CreateIndex
CREATE INDEX "connections_provider_owner_id_idx" ON "connections"("provider", "owner_id");

-- CreateIndex
CREATE INDEX "connections_owner_id_idx" ON "connections"("owner_id");

-- CreateIndex
CREATE INDEX "connections_status_expires_at_idx" ON "connections"("status", "expires_at");
