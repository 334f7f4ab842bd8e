-- AlterTable
ALTER TABLE "events" ADD COLUMN     "entity_kinds" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateTable
CREATE TABLE "flow_entities" (
    "kind" TEXT NOT NULL,
    "entity_key" TEXT NOT NULL,
    "steps" INTEGER[],
    "step_at" BIGINT[],
    "first_at" TIMESTAMPTZ(3) NOT NULL,
    "last_at" TIMESTAMPTZ(3) NOT NULL,
    "last_step" INTEGER NOT NULL,
    "event_count" INTEGER NOT NULL,
    "folded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "flow_entities_pkey" PRIMARY KEY ("kind","entity_key")
);

-- CreateTable
CREATE TABLE "flow_steps" (
    "id" SERIAL NOT NULL,
    "step" TEXT NOT NULL,

    CONSTRAINT "flow_steps_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "flow_counts" (
    "kind" TEXT NOT NULL,
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "metric" TEXT NOT NULL,
    "a" TEXT NOT NULL,
    "b" TEXT NOT NULL,
    "bucket" SMALLINT NOT NULL,
    "count" BIGINT NOT NULL,

    CONSTRAINT "flow_counts_pkey" PRIMARY KEY ("kind","hour","metric","a","b","bucket")
);

-- CreateTable
CREATE TABLE "flow_inbox" (
    "seq" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "entity_key" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "step" TEXT NOT NULL,
    "sign" SMALLINT NOT NULL,

    CONSTRAINT "flow_inbox_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE INDEX "flow_entities_kind_last_at_idx" ON "flow_entities"("kind", "last_at" DESC);

-- CreateIndex
CREATE INDEX "flow_entities_steps_idx" ON "flow_entities" USING GIN ("steps");

-- CreateIndex
CREATE UNIQUE INDEX "flow_steps_step_key" ON "flow_steps"("step");

