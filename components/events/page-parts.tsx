import type { ReactNode } from "react";
import styles from "./events.module.css";

/** The frame of the timeline, trace and event pages. */
export function PageFrame({ children }: { children: ReactNode }) {
  return <main style={{ padding: "1rem 1.5rem 2rem", maxWidth: "90rem", margin: "0 auto" }}>{children}</main>;
}

/** Bad input on a page: what was wrong, in words (the JSON API answers the same with a 422). */
export function InputError({ title, message, children }: { title: string; message: string; children?: ReactNode }) {
  return (
    <div role="alert" className={styles.evError}>
      <strong>{title}</strong>: {message}
      {children}
    </div>
  );
}
