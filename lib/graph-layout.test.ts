import { describe, expect, it } from "vitest";
import { countOrderCrossings, layoutFlowGraph, NODE_SIZE, placeInOrder, type FlowNodeKind, type GraphLayout, type LayoutEdge, type LayoutNode } from "./graph-layout.ts";

const node = (kind: FlowNodeKind, name: string): LayoutNode => ({ id: `${kind}:${name}`, kind, ...NODE_SIZE[kind] });

function overlaps(layout: GraphLayout, nodes: readonly LayoutNode[]): string[] {
  const found: string[] = [];
  const boxes = nodes.map((n) => ({ id: n.id, ...layout.positions.get(n.id)!, w: n.width, h: n.height }));
  boxes.sort((a, b) => a.x - b.x || a.y - b.y);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      if (b.x >= a.x + a.w) break;
      if (a.y < b.y + b.h && b.y < a.y + a.h) found.push(`${a.id} / ${b.id}`);
    }
  }
  return found;
}

/** The largest right edge of a column is left of the smallest left edge of the next. */
function expectColumns(layout: GraphLayout, nodes: readonly LayoutNode[]) {
  const span = (kind: FlowNodeKind) => {
    const of = nodes.filter((n) => n.kind === kind).map((n) => ({ x: layout.positions.get(n.id)!.x, w: n.width }));
    return { left: Math.min(...of.map((b) => b.x)), right: Math.max(...of.map((b) => b.x + b.w)) };
  };
  const producers = span("producer");
  const topics = span("topic");
  const groups = span("group");
  expect(producers.right).toBeLessThan(topics.left);
  expect(topics.right).toBeLessThan(groups.left);
}

/** A demo-like graph: order-service → orders → inventory, payment, analytics … */
function sagaGraph() {
  const nodes = [
    node("producer", "order-service"),
    node("producer", "payment-service"),
    node("producer", "inventory-service"),
    node("topic", "orders"),
    node("topic", "payments"),
    node("topic", "inventory"),
    node("topic", "payments-dlq"),
    node("topic", "audit"), // produced and read by nobody known
    node("group", "inventory-service"),
    node("group", "notification-service"),
    node("group", "analytics"),
    node("group", "idle"), // reads nothing yet
  ];
  const edges: LayoutEdge[] = [
    { source: "producer:order-service", target: "topic:orders" },
    { source: "producer:payment-service", target: "topic:payments" },
    { source: "producer:payment-service", target: "topic:payments-dlq" },
    { source: "producer:inventory-service", target: "topic:inventory" },
    { source: "topic:orders", target: "group:inventory-service" },
    { source: "topic:orders", target: "group:notification-service" },
    { source: "topic:orders", target: "group:analytics" },
    { source: "topic:payments", target: "group:analytics" },
    { source: "topic:inventory", target: "group:analytics" },
    { source: "topic:payments", target: "topic:payments-dlq" }, // same column
    { source: "topic:orders", target: "group:no-such-group" }, // dangling
  ];
  return { nodes, edges };
}

/** n topics, m groups, n/4 producers; each group reads 1–4 topics, each producer writes 4. */
function largeGraph(topicCount: number, groupCount: number) {
  const nodes: LayoutNode[] = [];
  const edges: LayoutEdge[] = [];
  const producerCount = Math.ceil(topicCount / 4);
  for (let p = 0; p < producerCount; p++) nodes.push(node("producer", `service-${p}`));
  for (let t = 0; t < topicCount; t++) {
    nodes.push(node("topic", `topic-${t}`));
    edges.push({ source: `producer:service-${t % producerCount}`, target: `topic:topic-${t}` });
  }
  for (let g = 0; g < groupCount; g++) {
    nodes.push(node("group", `group-${g}`));
    for (let k = 0; k <= g % 4; k++) edges.push({ source: `topic:topic-${(g * 7 + k * 31) % topicCount}`, target: `group:group-${g}` });
  }
  return { nodes, edges };
}

describe("layoutFlowGraph", () => {
  it("puts producers, then topics, then groups from left to right, whatever their edges", () => {
    const { nodes, edges } = sagaGraph();
    const layout = layoutFlowGraph(nodes, edges);
    expect(layout.positions.size).toBe(nodes.length);
    expectColumns(layout, nodes);
    // A topic without producer or consumer and a group without topics still sit in their column.
    const topicX = layout.positions.get("topic:orders")!.x;
    expect(layout.positions.get("topic:audit")!.x).toBe(topicX);
    expect(layout.positions.get("topic:payments-dlq")!.x).toBe(topicX);
    expect(layout.positions.get("group:idle")!.x).toBe(layout.positions.get("group:analytics")!.x);
    expect(layout.positions.has("group:no-such-group")).toBe(false);
  });

  it("never overlaps two nodes and reports a size that holds them all", () => {
    const { nodes, edges } = sagaGraph();
    const layout = layoutFlowGraph(nodes, edges);
    expect(overlaps(layout, nodes)).toEqual([]);
    for (const n of nodes) {
      const p = layout.positions.get(n.id)!;
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.y).toBeGreaterThanOrEqual(0);
      expect(p.x + n.width).toBeLessThanOrEqual(layout.width);
      expect(p.y + n.height).toBeLessThanOrEqual(layout.height);
    }
  });

  it("is deterministic: the same graph in another order gives the same positions", () => {
    const { nodes, edges } = sagaGraph();
    const first = layoutFlowGraph(nodes, edges);
    const second = layoutFlowGraph([...nodes].reverse(), [...edges].reverse());
    expect([...second.positions.entries()].sort()).toEqual([...first.positions.entries()].sort());
  });

  it("places a consumer next to the topic it reads rather than at the far end of its column", () => {
    // Two independent chains: each group should line up with its own topic.
    const nodes = [node("producer", "a"), node("producer", "b"), node("topic", "ta"), node("topic", "tb"), node("group", "ga"), node("group", "gb")];
    const edges = [
      { source: "producer:a", target: "topic:ta" },
      { source: "producer:b", target: "topic:tb" },
      { source: "topic:ta", target: "group:ga" },
      { source: "topic:tb", target: "group:gb" },
    ];
    const layout = layoutFlowGraph(nodes, edges);
    const y = (id: string) => layout.positions.get(id)!.y;
    expect(Math.sign(y("topic:ta") - y("topic:tb"))).toBe(Math.sign(y("group:ga") - y("group:gb")));
    expect(Math.sign(y("producer:a") - y("producer:b"))).toBe(Math.sign(y("topic:ta") - y("topic:tb")));
  });

  it("lays out 200 topics and 100 groups in columns without overlaps", () => {
    const { nodes, edges } = largeGraph(200, 100);
    const layout = layoutFlowGraph(nodes, edges);
    expect(layout.positions.size).toBe(nodes.length);
    expectColumns(layout, nodes);
    expect(overlaps(layout, nodes)).toEqual([]);
  });

  it("returns an empty layout for an empty graph and refuses duplicate ids", () => {
    expect(layoutFlowGraph([], []).positions.size).toBe(0);
    expect(() => layoutFlowGraph([node("topic", "a"), node("topic", "a")], [])).toThrow(/duplicate/);
  });
});

/** The demo's RabbitMQ part beside its Kafka part: notification-service on both. */
function mixedGraph() {
  const nodes = [
    ...sagaGraph().nodes,
    node("producer", "notification-service"),
    node("producer", "email-sender"),
    node("topic", "notifications"),
    node("exchange", "email"),
    node("exchange", "email.dlx"),
    node("queue", "email.jobs"),
    node("queue", "email.dead"),
    node("consumer", "email-sender"),
  ];
  const edges: LayoutEdge[] = [
    ...sagaGraph().edges,
    { source: "producer:notification-service", target: "topic:notifications" },
    { source: "producer:notification-service", target: "exchange:email" },
    { source: "producer:email-sender", target: "exchange:email" },
    { source: "exchange:email", target: "queue:email.jobs" },
    { source: "exchange:email.dlx", target: "queue:email.dead" },
    { source: "queue:email.jobs", target: "exchange:email.dlx" }, // dead letters: backwards, drawn but not shaping
    { source: "queue:email.jobs", target: "consumer:email-sender" },
  ];
  return { nodes, edges };
}

describe("layoutFlowGraph with RabbitMQ", () => {
  it("puts exchanges in the topics' column, queues in the groups', RabbitMQ consumers in a fourth, without overlaps", () => {
    const { nodes, edges } = mixedGraph();
    const layout = layoutFlowGraph(nodes, edges);
    const x = (id: string) => layout.positions.get(id)!.x;
    expect(x("exchange:email")).toBe(x("topic:orders"));
    expect(x("exchange:email.dlx")).toBe(x("topic:orders"));
    expect(x("queue:email.jobs")).toBe(x("group:analytics"));
    expect(x("queue:email.dead")).toBe(x("group:analytics"));
    expect(x("consumer:email-sender")).toBeGreaterThanOrEqual(x("group:analytics") + NODE_SIZE.group.width);
    expect(x("producer:notification-service")).toBe(x("producer:order-service"));
    expect(overlaps(layout, nodes)).toEqual([]);
    expect(layout.width).toBe(x("consumer:email-sender") + NODE_SIZE.consumer.width);
  });

  it("keeps a RabbitMQ chain together: the queue beside its exchange, its consumer beside the queue", () => {
    const nodes = [node("producer", "a"), node("producer", "b"), node("topic", "ta"), node("exchange", "xb"), node("group", "ga"), node("queue", "qb"), node("consumer", "cb")];
    const edges = [
      { source: "producer:a", target: "topic:ta" },
      { source: "producer:b", target: "exchange:xb" },
      { source: "topic:ta", target: "group:ga" },
      { source: "exchange:xb", target: "queue:qb" },
      { source: "queue:qb", target: "consumer:cb" },
    ];
    const layout = layoutFlowGraph(nodes, edges);
    const y = (id: string) => layout.positions.get(id)!.y;
    expect(Math.sign(y("topic:ta") - y("exchange:xb"))).toBe(Math.sign(y("group:ga") - y("queue:qb")));
    // One consumer of one queue: straight across.
    expect(y("consumer:cb") + NODE_SIZE.consumer.height / 2).toBeCloseTo(y("queue:qb") + NODE_SIZE.queue.height / 2, 0);
  });
});

describe("layoutFlowGraph's ordering and placement", () => {
  it("orders columns so that a graph drawable without crossings is drawn without them", () => {
    // By name, a→z, b→y, c→x would cross three times: reversed, not once.
    const nodes = [node("topic", "a"), node("topic", "b"), node("topic", "c"), node("group", "x"), node("group", "y"), node("group", "z")];
    const edges = [
      { source: "topic:a", target: "group:z" },
      { source: "topic:b", target: "group:y" },
      { source: "topic:c", target: "group:x" },
    ];
    const layout = layoutFlowGraph(nodes, edges);
    const y = (id: string) => layout.positions.get(id)!.y;
    const above = (a: string, b: string) => y(a) < y(b);
    // Whatever the order, each edge's ends are in the same order on both sides.
    expect(above("topic:a", "topic:b")).toBe(above("group:z", "group:y"));
    expect(above("topic:b", "topic:c")).toBe(above("group:y", "group:x"));
    expect(countOrderCrossings([["topic:a", "topic:b", "topic:c"], ["group:x", "group:y", "group:z"]], new Map(edges.map((e) => [e.source, [e.target]])))).toBe(3);
  });

  it("counts layered crossings as pairs of edges whose ends are in opposite orders", () => {
    const after = new Map([
      ["p", ["x", "y"]],
      ["q", ["x"]],
    ]);
    expect(countOrderCrossings([["p", "q"], ["x", "y"]], after)).toBe(1);
    expect(countOrderCrossings([["p", "q"], ["y", "x"]], after)).toBe(0);
    expect(countOrderCrossings([["q", "p"], ["y", "x"]], after)).toBe(1);
  });

  it("places a column as near as it can to where its nodes want to be, in order, gaps kept", () => {
    expect(placeInOrder([0, 100, 200], [40, 40, 40], 10)).toEqual([0, 100, 200]);
    // Both want 0: they share the difference, one gap apart.
    expect(placeInOrder([0, 0], [40, 40], 10)).toEqual([-25, 25]);
    // Out of order wishes are pooled, never reordered.
    expect(placeInOrder([100, 0], [40, 40], 10)).toEqual([25, 75]);
  });

  it("keeps an edge straight when its two nodes have no other neighbours", () => {
    const nodes = [node("producer", "p"), node("topic", "t"), node("group", "g"), node("topic", "other")];
    const layout = layoutFlowGraph(nodes, [
      { source: "producer:p", target: "topic:t" },
      { source: "topic:t", target: "group:g" },
    ]);
    const centre = (n: LayoutNode) => layout.positions.get(n.id)!.y + n.height / 2;
    expect(centre(nodes[0]!)).toBeCloseTo(centre(nodes[1]!), 0);
    expect(centre(nodes[1]!)).toBeCloseTo(centre(nodes[2]!), 0);
  });
});
