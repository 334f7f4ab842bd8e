-- AlterTable
ALTER TABLE "rabbitmq_queues" ADD COLUMN     "dead_letter_exchange" TEXT,
ADD COLUMN     "dead_letter_policy" TEXT,
ADD COLUMN     "dead_letter_routing_key" TEXT;


-- Queues stored before: their arguments are what was known (a policy's dead-letter exchange is
-- stored at the next poll).
UPDATE "rabbitmq_queues" SET
  "dead_letter_exchange" = "arguments"->>'x-dead-letter-exchange',
  "dead_letter_routing_key" = "arguments"->>'x-dead-letter-routing-key'
WHERE "arguments" ? 'x-dead-letter-exchange';
