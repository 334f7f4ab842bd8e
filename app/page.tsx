export default function HomePage() {
  return (
    <main style={{ maxWidth: "42rem", margin: "0 auto", padding: "2rem 1rem", lineHeight: 1.5 }}>
      <h1>Eventscope</h1>
      <p>
        Eventscope is an event-flow debugger for systems whose services talk through Kafka. It
        follows every event across topics and answers, in the browser:
      </p>
      <ul>
        <li>What happened to this order (or any other entity), in causal order?</li>
        <li>Who produces and who consumes this event type?</li>
        <li>Which consumer group is falling behind?</li>
        <li>What is in the dead-letter queue, and can it be replayed safely?</li>
      </ul>
      <p>
        This page is a placeholder: the flow graph, timelines, lag and dead-letter views come
        next.
      </p>
    </main>
  );
}
