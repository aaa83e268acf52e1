-- Keys instead of secrets (RFC 7523 private_key_jwt) and secret rotation with an overlap.
-- A service client authenticates with a secret (secret_hash) or with a JWK Set of public
-- keys (jwks); it must have at least one of them. rotate-secret keeps the previous hash
-- working until previous_secret_expires_at.
ALTER TABLE "service_clients" ALTER COLUMN "secret_hash" DROP NOT NULL;
ALTER TABLE "service_clients" ADD COLUMN "jwks" JSONB;
ALTER TABLE "service_clients" ADD COLUMN "previous_secret_hash" TEXT;
ALTER TABLE "service_clients" ADD COLUMN "previous_secret_expires_at" TIMESTAMPTZ(3);
ALTER TABLE "service_clients" ADD CONSTRAINT "service_clients_credential_check" CHECK ("secret_hash" IS NOT NULL OR "jwks" IS NOT NULL);

-- The jti of every client assertion accepted, until the assertion expires: the primary key
-- makes a second use fail on every replica (a replay). Purged after expires_at.
-- CreateTable
CREATE TABLE "client_assertion_jtis" (
    "client_id" TEXT NOT NULL,
    "jti" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "client_assertion_jtis_pkey" PRIMARY KEY ("client_id","jti")
);

-- CreateIndex
CREATE INDEX "client_assertion_jtis_expires_at_idx" ON "client_assertion_jtis"("expires_at");
