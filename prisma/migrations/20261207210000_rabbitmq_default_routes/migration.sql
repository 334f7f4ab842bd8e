-- CreateTable
CREATE TABLE "rabbitmq_default_routes" (
    "source_id" SMALLINT NOT NULL,
    "vhost" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "rabbitmq_default_routes_pkey" PRIMARY KEY ("source_id","vhost","queue")
);

