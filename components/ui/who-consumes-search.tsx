"use client";

import { useRouter, useSearchParams, usePathname } from "next/navigation";
import { useState, type FormEvent } from "react";
import { whoConsumesHref } from "@/lib/api-schemas/who-consumes";

/**
 * The header's "Who consumes …" box: an event type, a topic or a service, answered by
 * /who-consumes?q=… (which tries it in that order).
 */
export function WhoConsumesSearch() {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const current = pathname === "/who-consumes" ? (params.get("q") ?? params.get("type") ?? params.get("topic") ?? params.get("service") ?? "") : "";
  const [value, setValue] = useState(current);
  const [shownFor, setShownFor] = useState(current);
  if (current !== shownFor) {
    // Navigated to another answer (a link, back/forward): show its term.
    setShownFor(current);
    setValue(current);
  }

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const q = value.trim();
    if (q !== "") router.push(whoConsumesHref({ q }));
  };

  return (
    <form role="search" aria-label="Who consumes" className="site-search" onSubmit={submit} action="/who-consumes">
      <label htmlFor="site-search-input" className="site-search-label">
        Who consumes
      </label>
      <input
        id="site-search-input"
        name="q"
        type="search"
        placeholder="e.g. OrderPlaced"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        maxLength={1000}
        autoComplete="off"
      />
      <button type="submit">Find</button>
    </form>
  );
}
