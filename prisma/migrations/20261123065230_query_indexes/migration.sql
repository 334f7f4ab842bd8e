-- CreateIndex
CREATE INDEX "dead_letters_timestamp_id_idx" ON "dead_letters"("timestamp" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "dead_letters_topic_status_idx" ON "dead_letters"("topic", "status");

