-- CreateEnum
CREATE TYPE "topic_kind" AS ENUM ('normal', 'dlq', 'retry');

-- CreateEnum
CREATE TYPE "value_kind" AS ENUM ('json', 'text', 'binary');

-- CreateEnum
CREATE TYPE "dead_letter_status" AS ENUM ('new', 'replayed', 'resolved', 'discarded');

-- CreateEnum
CREATE TYPE "replay_status" AS ENUM ('pending', 'sent', 'consumed', 'failed_again', 'failed');

-- CreateTable
CREATE TABLE "events" (
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,
    "key" TEXT,
    "key_bytes" BYTEA,
    "value_kind" "value_kind",
    "value_json" JSONB,
    "value_text" TEXT,
    "value_bytes" BYTEA,
    "headers" JSONB NOT NULL DEFAULT '[]',
    "size" INTEGER NOT NULL,
    "event_type" TEXT,
    "entity_keys" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "trace_id" TEXT,
    "parent_span_id" TEXT,
    "producer" TEXT,
    "prior_failure" JSONB,
    "flags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "ingested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "events_pkey" PRIMARY KEY ("topic","partition","offset")
);

-- CreateTable
CREATE TABLE "topics" (
    "name" TEXT NOT NULL,
    "kind" "topic_kind" NOT NULL DEFAULT 'normal',
    "of" TEXT,
    "internal" BOOLEAN NOT NULL DEFAULT false,
    "partition_count" INTEGER NOT NULL DEFAULT 0,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "topics_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "partitions" (
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "leader" INTEGER,
    "end_offset" BIGINT NOT NULL DEFAULT 0,
    "start_offset" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "partitions_pkey" PRIMARY KEY ("topic","partition")
);

-- CreateTable
CREATE TABLE "end_offset_samples" (
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "sampled_at" TIMESTAMPTZ(3) NOT NULL,
    "end_offset" BIGINT NOT NULL,

    CONSTRAINT "end_offset_samples_pkey" PRIMARY KEY ("topic","partition","sampled_at")
);

-- CreateTable
CREATE TABLE "consumer_groups" (
    "group_id" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "protocol_type" TEXT,
    "protocol" TEXT,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consumer_groups_pkey" PRIMARY KEY ("group_id")
);

-- CreateTable
CREATE TABLE "group_members" (
    "group_id" TEXT NOT NULL,
    "member_id" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "client_host" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "group_members_pkey" PRIMARY KEY ("group_id","member_id")
);

-- CreateTable
CREATE TABLE "group_assignments" (
    "group_id" TEXT NOT NULL,
    "member_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,

    CONSTRAINT "group_assignments_pkey" PRIMARY KEY ("group_id","member_id","topic","partition")
);

-- CreateTable
CREATE TABLE "committed_offsets" (
    "group_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "committed_offset" BIGINT NOT NULL,
    "metadata" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "committed_offsets_pkey" PRIMARY KEY ("group_id","topic","partition")
);

-- CreateTable
CREATE TABLE "lag_samples" (
    "group_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "sampled_at" TIMESTAMPTZ(3) NOT NULL,
    "committed_offset" BIGINT,
    "end_offset" BIGINT NOT NULL,
    "offset_lag" BIGINT,
    "time_lag_ms" BIGINT,

    CONSTRAINT "lag_samples_pkey" PRIMARY KEY ("group_id","sampled_at","topic","partition")
);

-- CreateTable
CREATE TABLE "producers" (
    "topic" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "producer" TEXT NOT NULL,
    "count" BIGINT NOT NULL DEFAULT 0,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "producers_pkey" PRIMARY KEY ("topic","event_type","producer")
);

-- CreateTable
CREATE TABLE "dead_letters" (
    "id" BIGSERIAL NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,
    "source" TEXT NOT NULL,
    "convention" TEXT,
    "origin_topic" TEXT,
    "origin_partition" INTEGER,
    "origin_offset" BIGINT,
    "origin_timestamp" TIMESTAMPTZ(3),
    "origin_group" TEXT,
    "origin_topic_hint" TEXT,
    "error_class" TEXT,
    "error_message" TEXT,
    "error_cause" TEXT,
    "error_stack" TEXT,
    "attempts" INTEGER,
    "status" "dead_letter_status" NOT NULL DEFAULT 'new',
    "replay_id" TEXT,
    "status_changed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dead_letters_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "replays" (
    "id" UUID NOT NULL,
    "dead_letter_id" BIGINT NOT NULL,
    "sequence" INTEGER NOT NULL,
    "requested_by" TEXT NOT NULL,
    "requested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "target_topic" TEXT NOT NULL,
    "edits" JSONB,
    "status" "replay_status" NOT NULL DEFAULT 'pending',
    "produced_partition" INTEGER,
    "produced_offset" BIGINT,
    "error" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "replays_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT NOT NULL,
    "details" JSONB,
    "result" TEXT NOT NULL,
    "error" TEXT,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "collector_instances" (
    "instance_id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "last_poll_at" TIMESTAMPTZ(3),
    "last_stored_at" TIMESTAMPTZ(3),
    "last_admin_poll_at" TIMESTAMPTZ(3),
    "own_lag" BIGINT,
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "collector_instances_pkey" PRIMARY KEY ("instance_id")
);

-- CreateIndex
CREATE INDEX "events_timestamp_idx" ON "events"("timestamp" DESC);

-- CreateIndex
CREATE INDEX "events_topic_timestamp_idx" ON "events"("topic", "timestamp" DESC);

-- CreateIndex
CREATE INDEX "events_event_type_timestamp_idx" ON "events"("event_type", "timestamp" DESC);

-- CreateIndex
CREATE INDEX "events_entity_keys_idx" ON "events" USING GIN ("entity_keys");

-- CreateIndex
CREATE INDEX "events_headers_idx" ON "events" USING GIN ("headers" jsonb_path_ops);

-- CreateIndex
CREATE INDEX "events_key_idx" ON "events" USING HASH ("key");

-- CreateIndex
CREATE INDEX "topics_kind_idx" ON "topics"("kind");

-- CreateIndex
CREATE INDEX "end_offset_samples_sampled_at_idx" ON "end_offset_samples" USING BRIN ("sampled_at");

-- CreateIndex
CREATE INDEX "group_assignments_topic_partition_idx" ON "group_assignments"("topic", "partition");

-- CreateIndex
CREATE INDEX "committed_offsets_topic_partition_idx" ON "committed_offsets"("topic", "partition", "group_id", "committed_offset");

-- CreateIndex
CREATE INDEX "lag_samples_sampled_at_idx" ON "lag_samples" USING BRIN ("sampled_at");

-- CreateIndex
CREATE INDEX "producers_event_type_idx" ON "producers"("event_type");

-- CreateIndex
CREATE INDEX "producers_producer_idx" ON "producers"("producer");

-- CreateIndex
CREATE INDEX "dead_letters_status_timestamp_idx" ON "dead_letters"("status", "timestamp" DESC);

-- CreateIndex
CREATE INDEX "dead_letters_origin_topic_error_class_status_idx" ON "dead_letters"("origin_topic", "error_class", "status");

-- CreateIndex
CREATE INDEX "dead_letters_origin_topic_origin_partition_origin_offset_idx" ON "dead_letters"("origin_topic", "origin_partition", "origin_offset");

-- CreateIndex
CREATE INDEX "dead_letters_replay_id_idx" ON "dead_letters"("replay_id");

-- CreateIndex
CREATE UNIQUE INDEX "dead_letters_topic_partition_offset_key" ON "dead_letters"("topic", "partition", "offset");

-- CreateIndex
CREATE INDEX "replays_status_idx" ON "replays"("status");

-- CreateIndex
CREATE UNIQUE INDEX "replays_dead_letter_id_sequence_key" ON "replays"("dead_letter_id", "sequence");

-- CreateIndex
CREATE INDEX "audit_log_at_idx" ON "audit_log"("at" DESC);

-- CreateIndex
CREATE INDEX "audit_log_target_type_target_id_idx" ON "audit_log"("target_type", "target_id");

-- AddForeignKey
ALTER TABLE "partitions" ADD CONSTRAINT "partitions_topic_fkey" FOREIGN KEY ("topic") REFERENCES "topics"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_members" ADD CONSTRAINT "group_members_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "consumer_groups"("group_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_assignments" ADD CONSTRAINT "group_assignments_group_id_member_id_fkey" FOREIGN KEY ("group_id", "member_id") REFERENCES "group_members"("group_id", "member_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "committed_offsets" ADD CONSTRAINT "committed_offsets_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "consumer_groups"("group_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dead_letters" ADD CONSTRAINT "dead_letters_topic_partition_offset_fkey" FOREIGN KEY ("topic", "partition", "offset") REFERENCES "events"("topic", "partition", "offset") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "replays" ADD CONSTRAINT "replays_dead_letter_id_fkey" FOREIGN KEY ("dead_letter_id") REFERENCES "dead_letters"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written (Prisma cannot express these; see the comments in schema.prisma) ---------------

-- Ingest always writes these arrays; NOT NULL keeps `@>` queries free of NULL cases.
ALTER TABLE "events" ALTER COLUMN "entity_keys" SET NOT NULL;
ALTER TABLE "events" ALTER COLUMN "flags" SET NOT NULL;

-- Events of a trace in time order, the event a span id belongs to: many events carry no trace
-- context, so partial indexes stay small at 10M rows.
CREATE INDEX "events_trace_idx" ON "events"("trace_id", "timestamp") WHERE "trace_id" IS NOT NULL;
CREATE INDEX "events_parent_span_idx" ON "events"("parent_span_id") WHERE "parent_span_id" IS NOT NULL;
