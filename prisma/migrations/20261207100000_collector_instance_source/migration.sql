-- Each collector pipeline reports for its own source: a process collecting several sources writes
-- one row per source. Rows written before sources existed were the one cluster's: source 1.
ALTER TABLE "collector_instances" ADD COLUMN "source_id" SMALLINT;
UPDATE "collector_instances" SET "source_id" = 1;
ALTER TABLE "collector_instances" ALTER COLUMN "source_id" SET NOT NULL;
