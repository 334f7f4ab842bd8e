import Link from "next/link";
import { PageFrame } from "@/components/events/page-parts";

export default function EventNotFound() {
  return (
    <PageFrame>
      <h1>No such event</h1>
      <p>
        Eventscope has stored no record at this topic, partition and offset. It may be older than the retention
        (<code>EVENTSCOPE_RETENTION</code>), not collected yet, or on a topic the collector skips. <Link href="/events">Search events</Link>.
      </p>
    </PageFrame>
  );
}
