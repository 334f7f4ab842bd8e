import Link from "next/link";
import { PageFrame } from "@/components/events/page-parts";

export default function EventTypeNotFound() {
  return (
    <PageFrame>
      <h1>No events of this type</h1>
      <p>
        Eventscope has collected no event of this type. Event types come from the CloudEvents <code>ce_type</code> header, an{" "}
        <code>event-type</code> or <code>type</code> header, a <code>type</code> field of a JSON value, or the record name of a Schema
        Registry value. Check the spelling (types are exact), or <Link href="/events">search events</Link>.
      </p>
    </PageFrame>
  );
}
