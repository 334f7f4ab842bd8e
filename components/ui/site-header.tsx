import Link from "next/link";
import { Suspense } from "react";
import { SessionBadge } from "@/components/auth/session-badge";
import { ThemeSwitch } from "./theme-switch";
import { WhoConsumesSearch } from "./who-consumes-search";

const NAV = [
  { href: "/", label: "Overview" },
  { href: "/events", label: "Events" },
  { href: "/flows", label: "Flows" },
  { href: "/dead-letters", label: "Dead letters" },
  { href: "/groups", label: "Consumer groups" },
  { href: "/audit", label: "Audit" },
];

export function SiteHeader() {
  return (
    <header className="site-header">
      <Link href="/" className="site-brand">
        Eventscope
      </Link>
      <nav aria-label="Main" className="site-nav">
        {NAV.map((item) => (
          <Link key={item.href} href={item.href}>
            {item.label}
          </Link>
        ))}
      </nav>
      {/* useSearchParams needs a Suspense boundary on statically rendered pages. */}
      <Suspense fallback={<div className="site-search" />}>
        <WhoConsumesSearch />
      </Suspense>
      <ThemeSwitch />
      <div className="site-session">
        <SessionBadge />
      </div>
    </header>
  );
}
