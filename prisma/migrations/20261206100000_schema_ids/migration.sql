-- AlterTable
ALTER TABLE "events" ADD COLUMN     "schema_id" INTEGER;

