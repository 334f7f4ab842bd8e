-- CreateTable
CREATE TABLE "rabbitmq_exchanges" (
    "source_id" SMALLINT NOT NULL,
    "vhost" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "durable" BOOLEAN NOT NULL,
    "auto_delete" BOOLEAN NOT NULL,
    "internal" BOOLEAN NOT NULL DEFAULT false,
    "publish_in_rate" DOUBLE PRECISION,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rabbitmq_exchanges_pkey" PRIMARY KEY ("source_id","vhost","name")
);

