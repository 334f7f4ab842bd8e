import { randomUUID } from "node:crypto";
import { ErrorCode } from "./protocol/errors.ts";

/**
 * Kafka's classic consumer-group protocol, for one broker that coordinates every group.
 *
 * States follow Kafka's: Empty → PreparingRebalance (waiting for every known member to (re)join)
 * → CompletingRebalance (waiting for the leader's assignment) → Stable. Any join, leave or
 * session expiry starts a new rebalance; the generation grows by one each time a join completes.
 * The broker never looks inside protocol metadata or assignments: they are passed through as bytes.
 */
export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

export interface JoinRequest {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: { name: string; metadata: Buffer }[];
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolName: string;
  leader: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncResult {
  errorCode: number;
  assignment: Buffer;
}

interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: { name: string; metadata: Buffer }[];
  assignment: Buffer;
  pendingJoin: ((r: JoinResult) => void) | null;
  pendingSync: ((r: SyncResult) => void) | null;
  sessionTimer: NodeJS.Timeout | null;
}

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

const EMPTY = Buffer.alloc(0);

export class Group {
  state: GroupState = "Empty";
  generationId = 0;
  protocolType = "";
  protocolName = "";
  leaderId = "";
  readonly members = new Map<string, Member>();
  /** Keyed `topic\0partition`; offsets are the NEXT offset the group will read. */
  readonly offsets = new Map<string, CommittedOffset>();
  rebalanceTimer: NodeJS.Timeout | null = null;

  constructor(readonly groupId: string) {}

  selectedMetadata(m: Member): Buffer {
    return m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY;
  }
}

export interface CoordinatorOptions {
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  onCommit?: (groupId: string, topic: string, partition: number, offset: CommittedOffset) => void;
  log?: (line: string) => void;
}

export class GroupCoordinator {
  readonly groups = new Map<string, Group>();

  constructor(private readonly options: CoordinatorOptions) {}

  private group(groupId: string): Group {
    let g = this.groups.get(groupId);
    if (!g) {
      g = new Group(groupId);
      this.groups.set(groupId, g);
    }
    return g;
  }

  join(req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: number, memberId = req.memberId): Promise<JoinResult> =>
      Promise.resolve({ errorCode, generationId: -1, protocolName: "", leader: "", memberId, members: [] });
    if (!req.groupId) return fail(ErrorCode.INVALID_GROUP_ID);
    const { minSessionTimeoutMs, maxSessionTimeoutMs } = this.options;
    if (req.sessionTimeoutMs < minSessionTimeoutMs || req.sessionTimeoutMs > maxSessionTimeoutMs) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const g = this.group(req.groupId);
    if (g.members.size > 0) {
      const shared = req.protocols.some((p) => [...g.members.values()].every((m) => m.protocols.some((q) => q.name === p.name)));
      if (req.protocolType !== g.protocolType || !shared) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    let member: Member | undefined;
    if (req.memberId) {
      member = g.members.get(req.memberId);
      if (!member) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    } else {
      member = {
        memberId: `${req.clientId || "member"}-${randomUUID()}`,
        groupInstanceId: req.groupInstanceId,
        clientId: req.clientId,
        clientHost: req.clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        protocols: req.protocols,
        assignment: EMPTY,
        pendingJoin: null,
        pendingSync: null,
        sessionTimer: null,
      };
      g.members.set(member.memberId, member);
      if (g.members.size === 1) g.protocolType = req.protocolType;
    }
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    const joining = member;
    const result = new Promise<JoinResult>((resolve) => {
      // A second join from the same member replaces the first, which is answered as superseded.
      joining.pendingJoin?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, generationId: -1, protocolName: "", leader: "", memberId: joining.memberId, members: [] });
      joining.pendingJoin = resolve;
    });
    this.clearSessionTimer(member);
    if (g.state !== "PreparingRebalance") this.prepareRebalance(g, `member ${member.memberId} joined`);
    this.maybeCompleteJoin(g);
    return result;
  }

  sync(groupId: string, generationId: number, memberId: string, assignments: { memberId: string; assignment: Buffer }[]): Promise<SyncResult> {
    const g = this.groups.get(groupId);
    const member = g?.members.get(memberId);
    if (!g || !member) return Promise.resolve({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    if (generationId !== g.generationId) return Promise.resolve({ errorCode: ErrorCode.ILLEGAL_GENERATION, assignment: EMPTY });
    if (g.state === "PreparingRebalance") return Promise.resolve({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
    this.touch(g, member);
    if (g.state === "Stable") return Promise.resolve({ errorCode: ErrorCode.NONE, assignment: member.assignment });
    const result = new Promise<SyncResult>((resolve) => {
      member.pendingSync = resolve;
    });
    if (memberId === g.leaderId) {
      const given = new Map(assignments.map((a) => [a.memberId, a.assignment]));
      for (const m of g.members.values()) m.assignment = given.get(m.memberId) ?? EMPTY;
      g.state = "Stable";
      this.log(g, `stable at generation ${g.generationId} with ${g.members.size} member(s)`);
      for (const m of g.members.values()) {
        const reply = m.pendingSync;
        m.pendingSync = null;
        reply?.({ errorCode: ErrorCode.NONE, assignment: m.assignment });
      }
    }
    return result;
  }

  heartbeat(groupId: string, generationId: number, memberId: string): number {
    const g = this.groups.get(groupId);
    const member = g?.members.get(memberId);
    if (!g || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    // Kafka checks the generation before the state: a member of an older generation must rejoin.
    if (generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touch(g, member);
    // Only PreparingRebalance asks members to rejoin. In CompletingRebalance the member already has
    // the new generation (members may heartbeat between JoinGroup and SyncGroup): Kafka answers
    // NONE and restarts the session clock.
    if (g.state === "PreparingRebalance") return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  leave(groupId: string, memberIds: string[]): number[] {
    const g = this.groups.get(groupId);
    const codes = memberIds.map((id) => {
      const m = g?.members.get(id);
      if (!g || !m) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.removeMember(g, m, "left the group");
      return ErrorCode.NONE;
    });
    return codes;
  }

  /** Offsets from a member (generation ≥ 0) or from a client outside the group (generation -1, e.g. an admin reset). */
  commit(groupId: string, generationId: number, memberId: string, offsets: { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null }[]): number {
    if (!groupId) return ErrorCode.INVALID_GROUP_ID;
    const g = this.group(groupId);
    if (generationId >= 0 || memberId) {
      const member = g.members.get(memberId);
      if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
      // As Kafka: a member of the current generation may commit in Stable and in PreparingRebalance
      // (that is when clients commit the partitions they are about to give up). In
      // CompletingRebalance the new assignment is not known yet, so the commit is refused.
      if (g.state === "CompletingRebalance") return ErrorCode.REBALANCE_IN_PROGRESS;
      this.touch(g, member);
    } else if (g.members.size > 0) {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    const now = Date.now();
    for (const o of offsets) {
      const value: CommittedOffset = { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: now };
      g.offsets.set(`${o.topic}\0${o.partition}`, value);
      this.options.onCommit?.(groupId, o.topic, o.partition, value);
    }
    return ErrorCode.NONE;
  }

  /** Restores an offset read back from disk at start-up. */
  restoreOffset(groupId: string, topic: string, partition: number, offset: CommittedOffset): void {
    this.group(groupId).offsets.set(`${topic}\0${partition}`, offset);
  }

  fetchOffset(groupId: string, topic: string, partition: number): CommittedOffset | null {
    return this.groups.get(groupId)?.offsets.get(`${topic}\0${partition}`) ?? null;
  }

  /**
   * DeleteGroups: only a group without members can go, with its committed offsets (Kafka's
   * NON_EMPTY_GROUP otherwise). Returns the error code and the offsets that were dropped.
   */
  deleteGroup(groupId: string): { errorCode: number; dropped: { topic: string; partition: number }[] } {
    const g = this.groups.get(groupId);
    if (!groupId) return { errorCode: ErrorCode.INVALID_GROUP_ID, dropped: [] };
    if (!g || g.state === "Dead") return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, dropped: [] };
    if (g.members.size > 0) return { errorCode: ErrorCode.NON_EMPTY_GROUP, dropped: [] };
    if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
    this.groups.delete(groupId);
    this.log(g, "deleted");
    const dropped = [...g.offsets.keys()].map((key) => {
      const [topic, partition] = key.split("\0") as [string, string];
      return { topic, partition: Number(partition) };
    });
    return { errorCode: ErrorCode.NONE, dropped };
  }

  /** Forget the offsets of a deleted topic, as Kafka does. */
  dropTopic(topic: string): void {
    for (const g of this.groups.values()) {
      for (const key of g.offsets.keys()) if (key.startsWith(`${topic}\0`)) g.offsets.delete(key);
    }
  }

  stop(): void {
    for (const g of this.groups.values()) {
      if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
      for (const m of g.members.values()) this.clearSessionTimer(m);
    }
  }

  private prepareRebalance(g: Group, reason: string): void {
    g.state = "PreparingRebalance";
    this.log(g, `rebalancing: ${reason}`);
    for (const m of g.members.values()) {
      const reply = m.pendingSync;
      m.pendingSync = null;
      reply?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
    }
    if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
    const timeout = Math.max(0, ...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));
    g.rebalanceTimer = setTimeout(() => {
      g.rebalanceTimer = null;
      for (const m of [...g.members.values()]) {
        if (!m.pendingJoin) this.removeMember(g, m, "did not rejoin within the rebalance timeout", false);
      }
      this.maybeCompleteJoin(g);
    }, timeout);
    g.rebalanceTimer.unref();
  }

  private maybeCompleteJoin(g: Group): void {
    if (g.state !== "PreparingRebalance") return;
    for (const m of g.members.values()) if (!m.pendingJoin) return;
    if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
    g.rebalanceTimer = null;
    g.generationId++;
    if (g.members.size === 0) {
      g.state = "Empty";
      g.protocolName = "";
      g.leaderId = "";
      this.log(g, `empty at generation ${g.generationId}`);
      return;
    }
    const members = [...g.members.values()];
    if (!g.members.has(g.leaderId)) g.leaderId = members[0]!.memberId;
    const leader = g.members.get(g.leaderId)!;
    const chosen = leader.protocols.find((p) => members.every((m) => m.protocols.some((q) => q.name === p.name)));
    g.protocolName = chosen?.name ?? "";
    g.state = "CompletingRebalance";
    for (const m of members) {
      const reply = m.pendingJoin!;
      m.pendingJoin = null;
      m.assignment = EMPTY;
      this.touch(g, m);
      reply({
        errorCode: ErrorCode.NONE,
        generationId: g.generationId,
        protocolName: g.protocolName,
        leader: g.leaderId,
        memberId: m.memberId,
        members:
          m.memberId === g.leaderId
            ? members.map((x) => ({ memberId: x.memberId, groupInstanceId: x.groupInstanceId, metadata: g.selectedMetadata(x) }))
            : [],
      });
    }
  }

  private removeMember(g: Group, m: Member, reason: string, rebalance = true): void {
    this.clearSessionTimer(m);
    g.members.delete(m.memberId);
    this.log(g, `member ${m.memberId} ${reason}`);
    m.pendingJoin?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, generationId: -1, protocolName: "", leader: "", memberId: m.memberId, members: [] });
    m.pendingSync?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    m.pendingJoin = null;
    m.pendingSync = null;
    if (!rebalance) return;
    if (g.state === "PreparingRebalance") this.maybeCompleteJoin(g);
    else if (g.members.size === 0) {
      g.generationId++;
      g.state = "Empty";
      g.protocolName = "";
      g.leaderId = "";
    } else this.prepareRebalance(g, `member ${m.memberId} ${reason}`);
  }

  /** Restarts the member's session clock: it expires unless the member is heard from again. */
  private touch(g: Group, m: Member): void {
    this.clearSessionTimer(m);
    if (m.pendingJoin) return; // a member waiting in a join is covered by the rebalance timeout
    m.sessionTimer = setTimeout(() => {
      m.sessionTimer = null;
      if (g.members.get(m.memberId) === m) this.removeMember(g, m, `session timed out after ${m.sessionTimeoutMs} ms`);
    }, m.sessionTimeoutMs);
    m.sessionTimer.unref();
  }

  private clearSessionTimer(m: Member): void {
    if (m.sessionTimer) clearTimeout(m.sessionTimer);
    m.sessionTimer = null;
  }

  private log(g: Group, line: string): void {
    this.options.log?.(`group ${g.groupId}: ${line}`);
  }
}
