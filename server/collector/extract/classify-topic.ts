export interface TopicClass {
  kind: "dlq" | "retry" | "normal";
  /** The topic (or, for `<group>-dlq`, the group) the name points back to; a hint, not a fact. */
  of: string | null;
}

/**
 * Dead-letter topic names seen in the wild (see CONVENTIONS.md). Suffixes match in any case:
 * Spring wrote `.DLT` before 3.3, `-dlt` since, and hand-made topics vary.
 */
const BUILT_IN_DLQ_PATTERNS: readonly RegExp[] = [
  /^(.+)\.dlt$/i,
  /^(.+)-dlt$/i,
  /^(.+)\.dlq$/i,
  // Also kafkajs-async-retry's `<group>-dlq`, indistinguishable by name: `of` is then a group.
  /^(.+)-dlq$/i,
  /^dlq\.(.+)$/i,
  // SmallRye / Quarkus: the channel name, which usually but not always equals the topic.
  /^dead-letter-topic-(.+)$/i,
];

/** `<t>-retry`, `<t>-retry-<n>` (Spring's index suffix) and `<t>-retry-<ms>` (its delay suffix). */
const RETRY_PATTERN = /^(.+)-retry(?:-\d+)?$/i;

/**
 * Whether a topic is a dead-letter queue, a retry topic or neither, by name alone. Configured
 * patterns are tried first; their `topic` named group, else their first capture group, gives `of`.
 */
export function classifyTopic(name: string, dlqPatterns: readonly RegExp[] = []): TopicClass {
  for (const pattern of dlqPatterns) {
    const match = execOnce(pattern, name);
    if (match !== null) return { kind: "dlq", of: match.groups?.topic ?? match[1] ?? null };
  }
  for (const pattern of BUILT_IN_DLQ_PATTERNS) {
    const match = pattern.exec(name);
    if (match !== null) return { kind: "dlq", of: match[1] ?? null };
  }
  const retry = RETRY_PATTERN.exec(name);
  if (retry !== null) return { kind: "retry", of: retry[1] ?? null };
  return { kind: "normal", of: null };
}

/** A configured pattern may carry the g or y flag; its lastIndex must not leak between topics. */
function execOnce(pattern: RegExp, input: string): RegExpExecArray | null {
  pattern.lastIndex = 0;
  const match = pattern.exec(input);
  pattern.lastIndex = 0;
  return match;
}
