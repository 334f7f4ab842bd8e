-- CreateTable
CREATE TABLE "rabbitmq_queues" (
    "source_id" SMALLINT NOT NULL,
    "vhost" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "durable" BOOLEAN NOT NULL,
    "auto_delete" BOOLEAN NOT NULL,
    "exclusive" BOOLEAN NOT NULL DEFAULT false,
    "arguments" JSONB NOT NULL DEFAULT '{}',
    "state" TEXT,
    "messages_ready" BIGINT,
    "messages_unacknowledged" BIGINT,
    "consumers" INTEGER,
    "publish_rate" DOUBLE PRECISION,
    "deliver_rate" DOUBLE PRECISION,
    "ack_rate" DOUBLE PRECISION,
    "head_message_at" TIMESTAMPTZ(3),
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),
    "health_status" TEXT,
    "health_reason" TEXT,
    "health_at" TIMESTAMPTZ(3),

    CONSTRAINT "rabbitmq_queues_pkey" PRIMARY KEY ("source_id","vhost","name")
);

-- CreateTable
CREATE TABLE "rabbitmq_bindings" (
    "source_id" SMALLINT NOT NULL,
    "vhost" TEXT NOT NULL,
    "exchange" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "routing_key" TEXT NOT NULL,
    "properties_key" TEXT NOT NULL,
    "arguments" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "rabbitmq_bindings_pkey" PRIMARY KEY ("source_id","vhost","queue","exchange","properties_key")
);

-- CreateTable
CREATE TABLE "rabbitmq_consumers" (
    "source_id" SMALLINT NOT NULL,
    "vhost" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "consumer_tag" TEXT NOT NULL,
    "connection" TEXT NOT NULL,
    "connection_name" TEXT,
    "peer_host" TEXT,
    "user" TEXT,
    "ack_required" BOOLEAN NOT NULL,
    "prefetch_count" INTEGER NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "exclusive" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "rabbitmq_consumers_pkey" PRIMARY KEY ("source_id","vhost","queue","channel","consumer_tag")
);

-- CreateTable
CREATE TABLE "rabbitmq_queue_samples" (
    "source_id" SMALLINT NOT NULL,
    "vhost" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "sampled_at" TIMESTAMPTZ(3) NOT NULL,
    "messages_ready" BIGINT NOT NULL,
    "messages_unacknowledged" BIGINT NOT NULL,
    "consumers" INTEGER NOT NULL,
    "processed_total" BIGINT,
    "time_lag_ms" BIGINT,

    CONSTRAINT "rabbitmq_queue_samples_pkey" PRIMARY KEY ("source_id","vhost","queue","sampled_at")
);

-- CreateIndex
CREATE INDEX "rabbitmq_bindings_source_id_vhost_exchange_idx" ON "rabbitmq_bindings"("source_id", "vhost", "exchange");

-- CreateIndex
CREATE INDEX "rabbitmq_queue_samples_sampled_at_idx" ON "rabbitmq_queue_samples" USING BRIN ("sampled_at");

