import Link from "next/link";
import { PageFrame } from "@/components/events/page-parts";

export default function EntityNotFound() {
  return (
    <PageFrame>
      <h1>No events for this entity</h1>
      <p>
        Eventscope has stored no event of this entity. An entity is named by the JSON fields listed in
        <code> EVENTSCOPE_ENTITY_FIELDS</code> (default <code>orderId</code>), or else by the message key. Check the
        spelling, or <Link href="/events">search events</Link> by key, type or header. If the events are recent, is
        the collector running against the right cluster?
      </p>
    </PageFrame>
  );
}
