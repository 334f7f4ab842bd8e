import type { Metadata } from "next";
import type { ReactNode } from "react";
import { SiteHeader } from "@/components/ui/site-header";
import { StaleBanner } from "@/components/ui/stale-banner";
import "./globals.css";

export const metadata: Metadata = {
  title: "Eventscope",
  description: "Event-flow debugger for Kafka-based systems",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <SiteHeader />
        <StaleBanner />
        {children}
      </body>
    </html>
  );
}
