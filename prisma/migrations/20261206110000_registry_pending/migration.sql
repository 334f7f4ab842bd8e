-- Events stored while the Schema Registry could not be reached, which the collector decodes once it
-- is back (listRecordsAwaitingRegistry): a handful of rows at most, so the index costs nothing.
CREATE INDEX "events_registry_pending_idx" ON "events" ("ingested_at") WHERE 'schema-registry-unavailable' = ANY("flags");
