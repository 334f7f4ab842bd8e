-- AlterTable
ALTER TABLE "collector_instances" ADD COLUMN     "deliveries" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "warnings" JSONB NOT NULL DEFAULT '[]';

-- CreateTable
CREATE TABLE "rabbitmq_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "source_id" SMALLINT NOT NULL,
    "vhost" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "exchange" TEXT NOT NULL,
    "routing_key" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "fingerprint" INTEGER NOT NULL,
    "redelivered" BOOLEAN NOT NULL,
    "replay_id" TEXT,
    "connection" TEXT,
    "seen_at" TIMESTAMPTZ(3) NOT NULL,
    "copy_hash" BYTEA NOT NULL,

    CONSTRAINT "rabbitmq_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "rabbitmq_deliveries_source_id_channel_fingerprint_idx" ON "rabbitmq_deliveries"("source_id", "channel", "fingerprint");

-- CreateIndex
CREATE INDEX "rabbitmq_deliveries_source_id_copy_hash_idx" ON "rabbitmq_deliveries"("source_id", "copy_hash");

-- CreateIndex
CREATE INDEX "rabbitmq_deliveries_replay_id_idx" ON "rabbitmq_deliveries"("replay_id");

-- CreateIndex
CREATE INDEX "rabbitmq_deliveries_seen_at_idx" ON "rabbitmq_deliveries" USING BRIN ("seen_at");

