-- Hand-written (the index was hand-written in 20261123060000_init; Prisma does not know it).
-- No query looks events up by parent_span_id (it is only read along with the row), so the index
-- only cost ingest: one more entry per traced row in a btree of random span ids. Its twin
-- events_trace_idx (trace ids, which a query needs) measures at roughly 15 % of the write path's
-- time with `npx tsx bench/db-ingest.ts --costs`.
DROP INDEX IF EXISTS "events_parent_span_idx";
