import Link from "next/link";
import { PageFrame } from "@/components/events/page-parts";

export default function FlowNotFound() {
  return (
    <PageFrame>
      <h1>No entities of this kind</h1>
      <p>
        Eventscope has stored no entity of this kind. A kind is a JSON field listed in <code>EVENTSCOPE_ENTITY_FIELDS</code> (default{" "}
        <code>orderId</code>), or <code>key:&lt;topic&gt;</code> for entities named by their message key. The{" "}
        <Link href="/flows">flows page</Link> lists the kinds seen so far.
      </p>
    </PageFrame>
  );
}
