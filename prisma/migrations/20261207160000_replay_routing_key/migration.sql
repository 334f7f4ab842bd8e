-- AlterTable
ALTER TABLE "replays" ADD COLUMN     "routing_key" TEXT;

