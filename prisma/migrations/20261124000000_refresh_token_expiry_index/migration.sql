-- Proactive refresh: the claim's second arm (refresh tokens near their own expiry) reads
-- an index, like the first arm reads connections_status_expires_at_idx.
-- CreateIndex
CREATE INDEX "connections_status_refresh_token_expires_at_idx" ON "connections"("status", "refresh_token_expires_at");
