/**
 * The read queries behind the pages and the JSON API. Each is backed by an index (named in its
 * comment) and returns plain serialisable objects: int64s as decimal strings, times as ISO 8601.
 * Their shapes are the API contract, declared once in lib/api-schemas/ and re-exported here for
 * server/db's callers.
 */
export type {
  DeadLetterInfo,
  DeadLetterReference,
  EventDetail,
  EventSearchPage,
  EventSummary,
  EventValue,
  GroupConsumption,
  StoredFailure,
  TimelineEvent,
} from "../../../lib/api-schemas/events.ts";
export type { StoredHeader } from "../../../lib/api-schemas/headers.ts";
export type { EntityTimeline } from "../../../lib/api-schemas/entities.ts";
export type {
  ConsumerGroupListItem,
  ConsumerGroupMember,
  ConsumerGroupPage,
  ConsumerGroupPartition,
  ConsumerGroupView,
  LagHistory,
  LagHistoryPoint,
  LagHistoryTotal,
  PartitionLag,
  StoredGroupHealth,
  UnprocessedEventsPage,
  RabbitQueueView,
  RabbitQueueConsumer,
  RabbitQueueSummary,
} from "../../../lib/api-schemas/groups.ts";
export type { TraceEvents } from "../../../lib/api-schemas/traces.ts";
export type {
  AuditLogItem,
  AuditLogPage,
  DeadLetterDetail,
  DeadLetterGroup,
  DeadLetterListItem,
  DeadLetterPage,
  ReplayOutcome,
  ReplayWithOutcome,
} from "../../../lib/api-schemas/dead-letters.ts";
export type { CollectorHealthReport, CollectorInstanceHealth } from "../../../lib/api-schemas/health.ts";
export type {
  ConsumingGroup,
  ConsumingMember,
  ProducerOfTopic,
  ResolvedWhoConsumesQuery as WhoConsumesQuery,
  TopicConsumers,
  WhoConsumesAnswer,
} from "../../../lib/api-schemas/who-consumes.ts";
export type {
  FlowEdge,
  FlowGraph,
  GroupDetail,
  GroupMemberDetail,
  GroupNode,
  ProducerNode,
  TopicDetail,
  TopicNode,
  TopicPartitionOffsets,
} from "../../../lib/api-schemas/graph.ts";
export type { SchemaHistory, RegistryVersion, JsonShapeChange } from "../../../lib/api-schemas/schema-history.ts";
export { getSchemaHistory } from "./schema-history.ts";
export type { Flow, FlowKinds, FlowEntities, FlowKindSummary, FlowEntity, FlowStep as PathwayStep, FlowEdge as PathwayEdge } from "../../../lib/api-schemas/flows.ts";
export { listFlowKinds, getFlow, listFlowEntities, getEntityFlows, MIN_STUCK_MS } from "./flows.ts";
export { getEntityTimeline, type EntityTimelineOptions } from "./entity-timeline.ts";
export { getEntityState, MAX_STATE_EVENTS } from "./entity-state.ts";
export { getTraceEvents, MAX_TRACE_EVENTS } from "./trace-events.ts";
export { getEvent } from "./event.ts";
export { searchEvents, type SearchEventsFilters, type SearchEventsOptions } from "./search-events.ts";
export { whoConsumes } from "./who-consumes.ts";
export { getFlowGraph, type FlowGraphOptions } from "./flow-graph.ts";
export { getTopicDetail, getGroupDetail } from "./graph-details.ts";
export { getLagHistory, MAX_LAG_BUCKETS, type LagHistoryOptions } from "./lag-history.ts";
export {
  listDeadLetters,
  groupDeadLetters,
  DEAD_LETTER_STATUSES,
  type DeadLetterFilters,
  type ListDeadLettersOptions,
  type DeadLetterStatusName,
} from "./dead-letters.ts";
export {
  getCollectorHealthReport,
  type CollectorHealthOptions,
} from "./collector-health.ts";
export { getDeadLetter, listReplayOutcomes } from "./dead-letter-detail.ts";
export { listAuditLog, type ListAuditLogOptions } from "./audit-log.ts";
export { withoutMasking, type Queryable } from "./shared.ts";
export { findRabbitQueue, getRabbitQueue, listRabbitQueueItems, type GetRabbitQueueOptions } from "./rabbitmq-queues.ts";
export { listConsumerGroups, getConsumerGroup, listUnprocessedEvents, getGroupLagHistory, GROUP_SORT_KEYS, type GroupSortKey, type ListUnprocessedOptions, type ListConsumerGroupsOptions } from "./groups.ts";
