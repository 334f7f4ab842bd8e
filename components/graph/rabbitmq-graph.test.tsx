import { render, screen, within } from "@testing-library/react";
import { ReactFlowProvider, type NodeProps } from "@xyflow/react";
import { describe, expect, test, vi } from "vitest";
import { QUEUE_TIME_LAG_UNKNOWN } from "@/lib/api-schemas/groups";
import type { FlowGraph } from "@/lib/api-schemas/graph";
import { consumerMeta, ExchangeNodeView, QueueNodeView, RabbitConsumerNodeView } from "./flow-nodes";
import { NodePanel } from "./node-panel";
import { toFlowNodes, type ExchangeFlowNode, type FlowNode, type QueueFlowNode, type RabbitConsumerFlowNode } from "./to-flow";

/** The demo's RabbitMQ part as GET /api/graph serves it (no Kafka: the panels need none). */
const graph: FlowGraph = {
  generatedAt: "2026-12-06T02:00:00.000Z",
  windowMs: 60_000,
  sources: ["default", "rabbitmq"],
  source: null,
  producers: [{ id: "producer:notification-service", producer: "notification-service", lastSeenAt: "2026-12-06T01:59:58.000Z" }],
  topics: [],
  groups: [],
  exchanges: [
    { id: "exchange:email", source: "rabbitmq", vhost: "/", exchange: "email", channel: "email", type: "topic", messagesPerSecond: 3.2, eventTypes: ["EmailRequested", "EmailSent"], deadLetterExchange: false },
    { id: "exchange:email.dlx", source: "rabbitmq", vhost: "/", exchange: "email.dlx", channel: "email.dlx", type: "fanout", messagesPerSecond: 0.3, eventTypes: [], deadLetterExchange: true },
  ],
  queues: [
    {
      id: "queue:email.jobs", source: "rabbitmq", vhost: "/", name: "email.jobs", queueId: "rabbitmq:%2F/email.jobs", type: "classic",
      ready: "4", unacknowledged: "2", lag: "6", consumers: 1, timeLagMs: 90_000, timeLagUnknownReason: null,
      health: { status: "WARN", reason: "queue email.jobs: lag grew from 2 to 6 over 5 min", judgedAt: "2026-12-06T02:00:00.000Z" }, deadLetters: null,
    },
    {
      id: "queue:email.dead", source: "rabbitmq", vhost: "/", name: "email.dead", queueId: "rabbitmq:%2F/email.dead", type: "classic",
      ready: "12", unacknowledged: "0", lag: "12", consumers: 0, timeLagMs: null, timeLagUnknownReason: QUEUE_TIME_LAG_UNKNOWN,
      health: { status: "STOP", reason: "queue email.dead: no consumers while 12 messages wait", judgedAt: "2026-12-06T02:00:00.000Z" },
      deadLetters: { total: 12, new: 9 },
    },
  ],
  consumers: [{ id: "consumer:email-sender", source: "rabbitmq", name: "email-sender", named: true, consumers: 1, channels: 1, prefetch: [5], autoAck: false }],
  edges: [
    { id: "producer:notification-service->exchange:email", source: "producer:notification-service", target: "exchange:email", kind: "produces", messagesPerSecond: 3.2, estimated: false },
    {
      id: "exchange:email->queue:email.jobs", source: "exchange:email", target: "queue:email.jobs", kind: "routes", messagesPerSecond: 3.1, estimated: false,
      routingKeys: ["email.requested.#", "email.retry.#"],
    },
    { id: "exchange:email.dlx->queue:email.dead", source: "exchange:email.dlx", target: "queue:email.dead", kind: "routes", messagesPerSecond: 0.3, estimated: false, routingKeys: [""] },
    { id: "queue:email.jobs->exchange:email.dlx", source: "queue:email.jobs", target: "exchange:email.dlx", kind: "dead-letters", messagesPerSecond: 0.3, estimated: false },
    { id: "queue:email.jobs->consumer:email-sender", source: "queue:email.jobs", target: "consumer:email-sender", kind: "consumes", messagesPerSecond: 2.8, estimated: false, lag: "6" },
  ],
};

const flowNode = <T extends FlowNode>(id: string): T => toFlowNodes(graph, new Map(), null).find((n) => n.id === id) as T;

/** A node as React Flow renders it: its props, inside the provider its handles need. */
function renderNode<T extends FlowNode>(View: (props: NodeProps<T>) => React.ReactNode, id: string) {
  const node = flowNode<T>(id);
  const props = { id, type: node.type, data: node.data, selected: false, dragging: false, zIndex: 0, isConnectable: false, positionAbsoluteX: 0, positionAbsoluteY: 0 } as unknown as NodeProps<T>;
  return render(
    <ReactFlowProvider>
      <View {...props} />
    </ReactFlowProvider>,
  );
}

describe("RabbitMQ's nodes on the overview", () => {
  test("a queue shows its type, health, lag, how far behind it is and its consumers; a DLQ its dead letters", () => {
    const jobs = renderNode<QueueFlowNode>(QueueNodeView, "queue:email.jobs");
    expect(jobs.container.textContent).toContain("queue · classic");
    expect(within(jobs.container).getByText("WARN").getAttribute("title")).toBe("queue email.jobs: lag grew from 2 to 6 over 5 min");
    expect(within(jobs.container).getByText("lag 6 · 1 min 30 s behind · 1 consumer")).toBeTruthy();
    jobs.unmount();

    const dead = renderNode<QueueFlowNode>(QueueNodeView, "queue:email.dead");
    expect(within(dead.container).getByText("DLQ")).toBeTruthy();
    expect(within(dead.container).getByText("STOP")).toBeTruthy();
    expect(within(dead.container).getByText("12 dead letters (9 new)")).toBeTruthy();
    // The rest of its figures, no timestamps among them, in the tooltip.
    expect(dead.container.querySelector(".graph-node-meta")!.getAttribute("title")).toBe("lag 12 · no timestamps · 0 consumers");
  });

  test("an exchange shows its type and rate, a dead-letter exchange says so; a consumer its prefetch and channels", () => {
    const email = renderNode<ExchangeFlowNode>(ExchangeNodeView, "exchange:email");
    expect(within(email.container).getByText("topic")).toBeTruthy();
    expect(within(email.container).getByText("3.2/s")).toBeTruthy();
    expect(within(email.container).getByText("EmailRequested, EmailSent")).toBeTruthy();
    expect(within(email.container).queryByText("DLX")).toBeNull();
    email.unmount();
    const dlx = renderNode<ExchangeFlowNode>(ExchangeNodeView, "exchange:email.dlx");
    expect(within(dlx.container).getByText("DLX")).toBeTruthy();
    dlx.unmount();
    const sender = renderNode<RabbitConsumerFlowNode>(RabbitConsumerNodeView, "consumer:email-sender");
    expect(within(sender.container).getByText("email-sender")).toBeTruthy();
    expect(within(sender.container).getByText("prefetch 5 · 1 channel")).toBeTruthy();
  });

  test("a service none of whose consumers is attached any more says so", () => {
    const gone = { id: "consumer:email-sender", source: "rabbitmq", name: "email-sender", named: true, consumers: 0, channels: 0, prefetch: [], autoAck: false };
    expect(consumerMeta(gone)).toBe("not attached (consumed before)");
  });

  test("their nodes are buttons named by kind and name, tagged with their source when several are drawn", () => {
    const nodes = toFlowNodes(graph, new Map(), null);
    expect(nodes.filter((n) => n.type !== "producer").map((n) => n.ariaLabel)).toEqual([
      "Exchange email",
      "Exchange email.dlx",
      "Queue email.jobs",
      "Queue email.dead",
      "Consumer email-sender",
    ]);
    expect((flowNode<QueueFlowNode>("queue:email.jobs").data).sourceTag).toBe("rabbitmq");
  });
});

describe("the side panel of a RabbitMQ node", () => {
  test("a queue's panel: health, lag, bindings with every routing key, consumers, its dead-letter exchange and its page", () => {
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    render(<NodePanel id="queue:email.jobs" graph={graph} refreshedAt={graph.generatedAt} onClose={() => {}} />);
    const panel = screen.getByRole("complementary", { name: "Details of queue email.jobs" });
    expect(within(panel).getByRole("heading", { name: "email.jobs" })).toBeTruthy();
    expect(within(panel).getByText("RabbitMQ queue")).toBeTruthy();
    expect(within(panel).getByText("queue email.jobs: lag grew from 2 to 6 over 5 min", { exact: false })).toBeTruthy();
    expect(within(panel).getByText("6 (4 ready, 2 unacked)")).toBeTruthy();
    expect(within(panel).getByText("1 min 30 s")).toBeTruthy();
    const binding = within(panel).getByRole("cell", { name: "email.requested.#, email.retry.#" }).closest("tr")!;
    expect(within(binding).getByText("email")).toBeTruthy();
    expect(within(binding).getByText("3.1/s")).toBeTruthy();
    const consumer = within(panel).getByRole("cell", { name: "email-sender" }).closest("tr")!;
    expect(within(consumer).getByText("2.8/s")).toBeTruthy();
    expect(within(panel).getByText("email.dlx")).toBeTruthy();
    expect(within(panel).getByRole("link", { name: /^Queue email\.jobs/ }).getAttribute("href")).toBe("/groups/rabbitmq%3A%252F%2Femail.jobs?source=rabbitmq");
    // Everything comes from the graph: no detail request, no "Loading…".
    expect(fetch).not.toHaveBeenCalled();
    expect(within(panel).queryByText("Loading…")).toBeNull();
  });

  test("a DLQ's panel counts its dead letters and says it has no consumers", () => {
    vi.stubGlobal("fetch", vi.fn());
    render(<NodePanel id="queue:email.dead" graph={graph} refreshedAt={graph.generatedAt} onClose={() => {}} />);
    const panel = screen.getByRole("complementary", { name: "Details of queue email.dead" });
    expect(within(panel).getByText("12 (9 new)")).toBeTruthy();
    expect(within(panel).getByText(QUEUE_TIME_LAG_UNKNOWN)).toBeTruthy();
    expect(within(panel).getByText("no consumers")).toBeTruthy();
  });

  test("an exchange's panel: type, publishers, bound queues, and links to its events and to who consumes it", () => {
    vi.stubGlobal("fetch", vi.fn());
    render(<NodePanel id="exchange:email" graph={graph} refreshedAt={graph.generatedAt} onClose={() => {}} />);
    const panel = screen.getByRole("complementary", { name: "Details of exchange email" });
    expect(within(panel).getByText("topic")).toBeTruthy();
    expect(within(panel).getByText("notification-service (3.2/s)")).toBeTruthy();
    expect(within(panel).getByRole("link", { name: "EmailSent" }).getAttribute("href")).toBe("/who-consumes?type=EmailSent");
    expect(within(panel).getByRole("link", { name: "Schema history of EmailRequested" })).toBeTruthy();
    expect(within(panel).getByRole("cell", { name: "email.jobs" })).toBeTruthy();
    expect(within(panel).getByRole("link", { name: "Events of email →" }).getAttribute("href")).toBe("/events?topic=email&source=rabbitmq");
    expect(within(panel).getByRole("link", { name: "Who consumes email →" }).getAttribute("href")).toBe("/who-consumes?topic=email");
  });

  test("an exchange's panel lists its exchange-to-exchange bindings apart from its bound queues", () => {
    vi.stubGlobal("fetch", vi.fn());
    const archive = { ...graph.exchanges[0]!, id: "exchange:email.archive", exchange: "email.archive", channel: "email.archive", type: "fanout", eventTypes: [] };
    const withArchive: FlowGraph = {
      ...graph,
      exchanges: [...graph.exchanges, archive],
      edges: [
        ...graph.edges,
        { id: "exchange:email->exchange:email.archive", source: "exchange:email", target: "exchange:email.archive", kind: "routes", messagesPerSecond: null, estimated: false, routingKeys: ["email.sent.#"] },
      ],
    };
    render(<NodePanel id="exchange:email" graph={withArchive} refreshedAt={graph.generatedAt} onClose={() => {}} />);
    const panel = screen.getByRole("complementary", { name: "Details of exchange email" });
    const [queues, onward] = within(panel).getAllByRole("table");
    expect(within(queues!).queryByRole("cell", { name: "email.archive" })).toBeNull();
    expect(within(onward!).getByRole("columnheader", { name: "it routes on into" })).toBeTruthy();
    expect(within(onward!).getByRole("row", { name: /email\.archive email\.sent\.#/ })).toBeTruthy();
  });

  test("a consumer's panel: its queues with rate and lag, prefetch, and what the service consumes", () => {
    vi.stubGlobal("fetch", vi.fn());
    render(<NodePanel id="consumer:email-sender" graph={graph} refreshedAt={graph.generatedAt} onClose={() => {}} />);
    const panel = screen.getByRole("complementary", { name: "Details of consumer email-sender" });
    const row = within(panel).getByRole("cell", { name: "email.jobs" }).closest("tr")!;
    expect(row.textContent).toBe("email.jobs2.8/s6");
    expect(within(panel).getByText("5")).toBeTruthy();
    expect(within(panel).getByRole("link", { name: "What email-sender consumes →" }).getAttribute("href")).toBe("/who-consumes?service=email-sender");
  });
});
