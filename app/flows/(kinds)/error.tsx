"use client";

import { PageError } from "@/components/ui/page-state";

export default function Error({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return <PageError what="Flows" error={error} reset={reset} />;
}
