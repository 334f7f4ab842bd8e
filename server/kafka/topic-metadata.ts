import type { Admin } from "kafkajs";

/**
 * How many partitions `topic` has, or null when the cluster has no such topic. Reads the metadata
 * of every topic: asking for a topic that does not exist makes kafkajs retry, then fail with
 * "This server does not host this topic-partition", and keeps the name in the client's metadata
 * requests; nothing here creates a topic.
 */
export async function partitionCountOf(admin: Pick<Admin, "fetchTopicMetadata">, topic: string): Promise<number | null> {
  const { topics } = await admin.fetchTopicMetadata();
  const found = topics.find((t) => t.name === topic);
  return found ? found.partitions.length : null;
}
