import { PageLoading } from "@/components/ui/page-state";

export default function Loading() {
  return <PageLoading what="the entity kinds" />;
}
