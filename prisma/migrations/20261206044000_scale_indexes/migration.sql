-- A page of one owner's connections is read in id order: (owner_id, id) serves the filter
-- and the order, so an owner with many connections costs a page, not a sort of all of them.
-- It replaces the index on owner_id alone (a prefix of it). docs/performance.md, scale.
CREATE INDEX "connections_owner_id_id_idx" ON "connections"("owner_id", "id");
DROP INDEX "connections_owner_id_idx";
