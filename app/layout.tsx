import type { Metadata } from "next";
import type { ReactNode } from "react";
import { SiteHeader } from "@/components/ui/site-header";
import { StaleBanner } from "@/components/ui/stale-banner";
import { THEME_BOOT_SCRIPT } from "@/lib/theme";
import "./globals.css";

export const metadata: Metadata = {
  title: "Eventscope",
  description: "Event-flow debugger for Kafka-based systems",
  icons: {
    icon: [
      { url: "/favicon.svg", type: "image/svg+xml" },
      { url: "/favicon.ico", sizes: "16x16 32x32" },
    ],
  },
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    // data-theme is set before hydration by the script below, from the user's remembered choice.
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* Before the first paint: a remembered dark theme never flashes light. */}
        <script dangerouslySetInnerHTML={{ __html: THEME_BOOT_SCRIPT }} />
      </head>
      <body>
        <SiteHeader />
        <StaleBanner />
        {children}
      </body>
    </html>
  );
}
