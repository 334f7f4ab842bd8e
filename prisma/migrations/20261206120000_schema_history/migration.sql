-- CreateTable
CREATE TABLE "registry_schemas" (
    "id" INTEGER NOT NULL,
    "schema_type" TEXT NOT NULL,
    "schema" TEXT NOT NULL,
    "references" JSONB NOT NULL DEFAULT '[]',
    "subject" TEXT,
    "version" INTEGER,
    "compatibility" TEXT,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "registry_schemas_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "event_type_schemas" (
    "event_type" TEXT NOT NULL,
    "schema_id" INTEGER NOT NULL,
    "count" BIGINT NOT NULL DEFAULT 0,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "first_topic" TEXT NOT NULL,
    "first_partition" INTEGER NOT NULL,
    "first_offset" BIGINT NOT NULL,

    CONSTRAINT "event_type_schemas_pkey" PRIMARY KEY ("event_type","schema_id")
);

-- CreateTable
CREATE TABLE "event_type_fields" (
    "event_type" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "json_type" TEXT NOT NULL,
    "count" BIGINT NOT NULL DEFAULT 0,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "first_topic" TEXT NOT NULL,
    "first_partition" INTEGER NOT NULL,
    "first_offset" BIGINT NOT NULL,

    CONSTRAINT "event_type_fields_pkey" PRIMARY KEY ("event_type","path","json_type")
);

-- CreateIndex
CREATE INDEX "registry_schemas_subject_version_idx" ON "registry_schemas"("subject", "version");


-- Events stored before this migration: which registry schemas each type carried. (Registry
-- schemas themselves are stored by the collector as it meets their ids; the shapes of plain JSON
-- values are counted from this migration on.)
INSERT INTO "event_type_schemas" ("event_type", "schema_id", "count", "first_seen_at", "last_seen_at", "first_topic", "first_partition", "first_offset")
SELECT event_type, schema_id, count(*), min("timestamp"), max("timestamp"),
  (array_agg(topic ORDER BY "timestamp", topic, partition, "offset"))[1],
  (array_agg(partition ORDER BY "timestamp", topic, partition, "offset"))[1],
  (array_agg("offset" ORDER BY "timestamp", topic, partition, "offset"))[1]
FROM events
WHERE event_type IS NOT NULL AND schema_id IS NOT NULL
GROUP BY event_type, schema_id;
