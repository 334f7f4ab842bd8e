-- AlterTable
ALTER TABLE "flow_entities" ADD COLUMN     "prev_step" INTEGER;

