-- AlterTable
ALTER TABLE "consumer_groups" ADD COLUMN     "health_at" TIMESTAMPTZ(3),
ADD COLUMN     "health_reason" TEXT,
ADD COLUMN     "health_status" TEXT;

