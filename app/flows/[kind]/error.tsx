"use client";

import { PageError } from "@/components/ui/page-state";

export default function Error({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return <PageError what="This flow" error={error} reset={reset} />;
}
