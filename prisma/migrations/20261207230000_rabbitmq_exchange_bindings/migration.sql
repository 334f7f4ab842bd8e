-- CreateTable
CREATE TABLE "rabbitmq_exchange_bindings" (
    "source_id" SMALLINT NOT NULL,
    "vhost" TEXT NOT NULL,
    "from_exchange" TEXT NOT NULL,
    "to_exchange" TEXT NOT NULL,
    "routing_key" TEXT NOT NULL,
    "properties_key" TEXT NOT NULL,
    "arguments" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "rabbitmq_exchange_bindings_pkey" PRIMARY KEY ("source_id","vhost","from_exchange","to_exchange","properties_key")
);

