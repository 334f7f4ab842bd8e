-- AlterTable
ALTER TABLE "replays" ADD COLUMN     "missing_partition" INTEGER;
