-- AlterTable
ALTER TABLE "rabbitmq_queues" ADD COLUMN     "consumer_names" TEXT[] DEFAULT ARRAY[]::TEXT[];

