import type { Admin, Kafka } from "kafkajs";
import { selectTopics, type TopicFilter } from "./topic-filter.ts";

/**
 * Lists the cluster's topics every `intervalMs` and reports the collected ones (topic-filter.ts)
 * whenever that list changes. kafkajs fixes a consumer's subscription when it starts, so this is
 * how the collector notices new (and deleted) topics: it replaces its consumer on each change.
 */

export interface TopicWatcherOptions {
  kafka: Kafka;
  filter: TopicFilter;
  intervalMs: number;
  log(line: string): void;
  /** The collected topics, sorted; called on the first listing and on every change. */
  onChange(topics: string[]): void;
  /** A listing failed (the broker is unreachable) or succeeded again (null); for the health row. */
  onError(message: string | null): void;
}

export interface TopicWatcher {
  stop(): Promise<void>;
}

export function startTopicWatcher(options: TopicWatcherOptions): TopicWatcher {
  let admin: Admin | null = null;
  let stopped = false;
  let current: string | null = null;
  let lastError = "";
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  const listOnce = async () => {
    try {
      if (!admin) {
        admin = options.kafka.admin();
        await admin.connect();
      }
      const topics = selectTopics(await admin.listTopics(), options.filter);
      if (stopped) return;
      if (lastError) {
        options.log("topic listing works again");
        options.onError(null);
        lastError = "";
      }
      const joined = topics.join("\n");
      if (joined !== current) {
        current = joined;
        options.onChange(topics);
      }
    } catch (error) {
      if (stopped) return;
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastError) {
        options.log(`listing topics failed (tried again in ${options.intervalMs / 1000}s): ${message}`);
        options.onError(`listing topics failed: ${message}`);
        lastError = message;
      }
      // A fresh admin client next time: kafkajs's may be left with dead connections.
      const broken = admin;
      admin = null;
      await broken?.disconnect().catch(() => undefined);
    }
  };

  const tick = () => {
    running = listOnce().finally(() => {
      if (!stopped) timer = setTimeout(tick, options.intervalMs);
    });
  };
  tick();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      // Disconnecting makes a listing stuck in kafkajs's retries give up.
      await admin?.disconnect().catch(() => undefined);
      await running.catch(() => undefined);
      await admin?.disconnect().catch(() => undefined);
    },
  };
}
