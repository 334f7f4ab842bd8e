-- Sources (issue 14): every row names the source (cluster, later RabbitMQ/Redis/NATS server) it
-- came from, and events are identified by (source, channel, partition, position). Hand-written
-- from Prisma's diff so that existing rows are migrated IN PLACE: columns are renamed, never
-- dropped and re-created, and every row stored so far belongs to source 1, `default` (the one
-- cluster of KAFKA_BROKERS). The runner applies this in one transaction: if any statement fails,
-- the old schema and its data are left as they were.

CREATE TABLE "sources" (
    "id" SMALLSERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sources_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "sources_name_key" ON "sources"("name");

INSERT INTO "sources" ("id", "name", "kind") VALUES (1, 'default', 'kafka');
SELECT setval(pg_get_serial_sequence('"sources"', 'id'), 1);

-- Foreign keys and keys that are rebuilt with source_id in front.
ALTER TABLE "partitions" DROP CONSTRAINT "partitions_topic_fkey";
ALTER TABLE "group_members" DROP CONSTRAINT "group_members_group_id_fkey";
ALTER TABLE "group_assignments" DROP CONSTRAINT "group_assignments_group_id_member_id_fkey";
ALTER TABLE "committed_offsets" DROP CONSTRAINT "committed_offsets_group_id_fkey";

DROP INDEX "events_topic_timestamp_idx";
DROP INDEX "group_assignments_topic_partition_idx";
DROP INDEX "committed_offsets_topic_partition_idx";
DROP INDEX "dead_letters_topic_status_idx";
DROP INDEX "dead_letters_topic_partition_offset_key";

-- events: (topic, partition, offset) -> (source_id, channel, partition, position). The renames
-- carry the indexes on these columns along (events_undecodable_idx is on channel now); the
-- partial events_trace_idx and events_registry_pending_idx are untouched. The default is dropped
-- at the end: every writer must say the source. No foreign key to sources (it would cost ingest).
ALTER TABLE "events" RENAME COLUMN "topic" TO "channel";
ALTER TABLE "events" RENAME COLUMN "offset" TO "position";
ALTER TABLE "events" DROP CONSTRAINT "events_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "events_pkey" PRIMARY KEY ("source_id", "channel", "partition", "position");
ALTER TABLE "events" ALTER COLUMN "source_id" DROP DEFAULT;

-- dead_letters: the same renames; its `source` (how it was recognized) becomes recognized_by,
-- since `source` now means a source everywhere else. origin_* keep their names (same source).
ALTER TABLE "dead_letters" RENAME COLUMN "topic" TO "channel";
ALTER TABLE "dead_letters" RENAME COLUMN "offset" TO "position";
ALTER TABLE "dead_letters" RENAME COLUMN "source" TO "recognized_by";
ALTER TABLE "dead_letters" ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1;
ALTER TABLE "dead_letters" ALTER COLUMN "source_id" DROP DEFAULT;

-- Kafka-only tables: their names stay, source_id leads their keys.
ALTER TABLE "topics" DROP CONSTRAINT "topics_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "topics_pkey" PRIMARY KEY ("source_id", "name");

ALTER TABLE "partitions" DROP CONSTRAINT "partitions_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "partitions_pkey" PRIMARY KEY ("source_id", "topic", "partition");

ALTER TABLE "end_offset_samples" DROP CONSTRAINT "end_offset_samples_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "end_offset_samples_pkey" PRIMARY KEY ("source_id", "topic", "partition", "sampled_at");

ALTER TABLE "consumer_groups" DROP CONSTRAINT "consumer_groups_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "consumer_groups_pkey" PRIMARY KEY ("source_id", "group_id");

ALTER TABLE "group_members" DROP CONSTRAINT "group_members_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "group_members_pkey" PRIMARY KEY ("source_id", "group_id", "member_id");

ALTER TABLE "group_assignments" DROP CONSTRAINT "group_assignments_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "group_assignments_pkey" PRIMARY KEY ("source_id", "group_id", "member_id", "topic", "partition");

ALTER TABLE "committed_offsets" DROP CONSTRAINT "committed_offsets_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "committed_offsets_pkey" PRIMARY KEY ("source_id", "group_id", "topic", "partition");

ALTER TABLE "lag_samples" DROP CONSTRAINT "lag_samples_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "lag_samples_pkey" PRIMARY KEY ("source_id", "group_id", "sampled_at", "topic", "partition");

ALTER TABLE "lag_minutes" DROP CONSTRAINT "lag_minutes_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "lag_minutes_pkey" PRIMARY KEY ("source_id", "group_id", "minute", "topic", "partition");

ALTER TABLE "lag_minute_totals" DROP CONSTRAINT "lag_minute_totals_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "lag_minute_totals_pkey" PRIMARY KEY ("source_id", "group_id", "minute");

ALTER TABLE "producers" DROP CONSTRAINT "producers_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "producers_pkey" PRIMARY KEY ("source_id", "topic", "event_type", "producer");

-- A schema id means something within one registry only; each source has its own registry.
ALTER TABLE "registry_schemas" DROP CONSTRAINT "registry_schemas_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "registry_schemas_pkey" PRIMARY KEY ("source_id", "id");

ALTER TABLE "event_type_schemas" DROP CONSTRAINT "event_type_schemas_pkey",
ADD COLUMN "source_id" SMALLINT NOT NULL DEFAULT 1,
ADD COLUMN "first_source_id" SMALLINT NOT NULL DEFAULT 1,
ADD CONSTRAINT "event_type_schemas_pkey" PRIMARY KEY ("event_type", "source_id", "schema_id");

ALTER TABLE "event_type_fields" ADD COLUMN "first_source_id" SMALLINT NOT NULL DEFAULT 1;

ALTER TABLE "topics" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "partitions" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "end_offset_samples" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "consumer_groups" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "group_members" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "group_assignments" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "committed_offsets" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "lag_samples" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "lag_minutes" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "lag_minute_totals" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "producers" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "registry_schemas" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "event_type_schemas" ALTER COLUMN "source_id" DROP DEFAULT;
ALTER TABLE "event_type_schemas" ALTER COLUMN "first_source_id" DROP DEFAULT;
ALTER TABLE "event_type_fields" ALTER COLUMN "first_source_id" DROP DEFAULT;

CREATE INDEX "events_topic_timestamp_idx" ON "events"("channel", "timestamp" DESC);
CREATE INDEX "group_assignments_topic_partition_idx" ON "group_assignments"("source_id", "topic", "partition");
CREATE INDEX "committed_offsets_topic_partition_idx" ON "committed_offsets"("source_id", "topic", "partition", "group_id", "committed_offset");
CREATE INDEX "dead_letters_topic_status_idx" ON "dead_letters"("channel", "source_id", "status");
CREATE UNIQUE INDEX "dead_letters_source_id_channel_partition_position_key" ON "dead_letters"("source_id", "channel", "partition", "position");

ALTER TABLE "partitions" ADD CONSTRAINT "partitions_source_id_topic_fkey" FOREIGN KEY ("source_id", "topic") REFERENCES "topics"("source_id", "name") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "group_members" ADD CONSTRAINT "group_members_source_id_group_id_fkey" FOREIGN KEY ("source_id", "group_id") REFERENCES "consumer_groups"("source_id", "group_id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "group_assignments" ADD CONSTRAINT "group_assignments_source_id_group_id_member_id_fkey" FOREIGN KEY ("source_id", "group_id", "member_id") REFERENCES "group_members"("source_id", "group_id", "member_id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "committed_offsets" ADD CONSTRAINT "committed_offsets_source_id_group_id_fkey" FOREIGN KEY ("source_id", "group_id") REFERENCES "consumer_groups"("source_id", "group_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- With source_id leading lag_samples_pkey and one source, PostgreSQL 18 plans the recent-window
-- queries (flow graph rates, group health) as skip scans of the primary key instead of the BRIN
-- index on sampled_at that suits rows appended in time order. Planned as if sources were many (a
-- planner statistic only; it takes effect at the next ANALYZE), the BRIN index stays the way in.
ALTER TABLE "lag_samples" ALTER COLUMN "source_id" SET (n_distinct = 50);

-- collector_instances.stalled entries gain a "source" (name): the stored ones were all default's.
UPDATE "collector_instances" SET "stalled" = (
  SELECT coalesce(jsonb_agg(entry || '{"source": "default"}'::jsonb), '[]'::jsonb) FROM jsonb_array_elements("stalled") entry
) WHERE "stalled" <> '[]'::jsonb;
