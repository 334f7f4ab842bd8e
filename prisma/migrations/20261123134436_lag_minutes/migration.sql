-- CreateTable
CREATE TABLE "lag_minutes" (
    "group_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "minute" TIMESTAMPTZ(3) NOT NULL,
    "max_offset_lag" BIGINT,
    "max_time_lag_ms" BIGINT,
    "max_committed_offset" BIGINT,
    "max_end_offset" BIGINT NOT NULL,

    CONSTRAINT "lag_minutes_pkey" PRIMARY KEY ("group_id","minute","topic","partition")
);

-- CreateTable
CREATE TABLE "lag_minute_totals" (
    "group_id" TEXT NOT NULL,
    "minute" TIMESTAMPTZ(3) NOT NULL,
    "max_offset_lag" BIGINT,
    "max_time_lag_ms" BIGINT,
    "max_unknown_partitions" INTEGER NOT NULL,

    CONSTRAINT "lag_minute_totals_pkey" PRIMARY KEY ("group_id","minute")
);

-- CreateIndex
CREATE INDEX "lag_minutes_minute_idx" ON "lag_minutes" USING BRIN ("minute");

-- CreateIndex
CREATE INDEX "lag_minute_totals_minute_idx" ON "lag_minute_totals" USING BRIN ("minute");


-- Roll up the samples taken before this migration (lag-rollup.ts does the same for new ones).
INSERT INTO "lag_minutes" ("group_id", "topic", "partition", "minute", "max_offset_lag", "max_time_lag_ms", "max_committed_offset", "max_end_offset")
SELECT "group_id", "topic", "partition", date_bin(interval '1 minute', "sampled_at", timestamptz '1970-01-01 00:00:00+00'),
  max("offset_lag"), max("time_lag_ms"), max("committed_offset"), max("end_offset")
FROM "lag_samples"
GROUP BY 1, 2, 3, 4;

INSERT INTO "lag_minute_totals" ("group_id", "minute", "max_offset_lag", "max_time_lag_ms", "max_unknown_partitions")
SELECT "group_id", date_bin(interval '1 minute', "sampled_at", timestamptz '1970-01-01 00:00:00+00'), max("total"), max("time_lag"), max("unknown")
FROM (
  SELECT "group_id", "sampled_at", sum("offset_lag") AS "total", max("time_lag_ms") AS "time_lag",
    count(*) FILTER (WHERE "offset_lag" IS NULL)::int AS "unknown"
  FROM "lag_samples"
  GROUP BY "group_id", "sampled_at"
) "per_sample"
GROUP BY 1, 2;
