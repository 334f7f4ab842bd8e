import type { Metadata } from "next";
import type { ReactNode } from "react";
import { SiteHeader } from "@/components/ui/site-header";
import { StaleBanner } from "@/components/ui/stale-banner";
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
    <html lang="en">
      <body>
        <SiteHeader />
        <StaleBanner />
        {children}
      </body>
    </html>
  );
}
