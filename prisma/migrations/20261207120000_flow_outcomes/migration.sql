-- AlterTable
ALTER TABLE "flow_entities" ADD COLUMN     "outcome" TEXT NOT NULL DEFAULT 'open';

-- CreateIndex (by hand: partial, open entities only; Prisma cannot say so)
CREATE INDEX "flow_entities_open_idx" ON "flow_entities"("kind", "last_step", "last_at") WHERE "outcome" = 'open';

