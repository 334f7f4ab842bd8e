/**
 * Which topics the collector consumes: every topic of the cluster except internal ones (names
 * starting with `__`: `__consumer_offsets`, `__transaction_state`, Connect's and Streams' own) and
 * those the configuration leaves out (EVENTSCOPE_TOPICS_INCLUDE / EVENTSCOPE_TOPICS_EXCLUDE).
 */

export interface TopicFilter {
  /** When set, only topics it matches (anywhere in the name, as RegExp.test does). */
  include?: RegExp;
  /** When set, topics it matches are left out, even if `include` matches them. */
  exclude?: RegExp;
}

export function isInternalTopic(name: string): boolean {
  return name.startsWith("__");
}

export function isCollectedTopic(name: string, filter: TopicFilter): boolean {
  if (isInternalTopic(name)) return false;
  // A fresh RegExp state per test: a /g or /y pattern would otherwise carry lastIndex over.
  if (filter.include && !new RegExp(filter.include.source, filter.include.flags.replace(/[gy]/g, "")).test(name)) return false;
  if (filter.exclude && new RegExp(filter.exclude.source, filter.exclude.flags.replace(/[gy]/g, "")).test(name)) return false;
  return true;
}

/** The collected topics among `names`, sorted and without repeats (a stable subscription key). */
export function selectTopics(names: Iterable<string>, filter: TopicFilter): string[] {
  return [...new Set(names)].filter((name) => isCollectedTopic(name, filter)).sort();
}
