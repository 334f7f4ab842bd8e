"use client";

import { type RefObject, useEffect, useRef } from "react";

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), textarea:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Keyboard behaviour of a modal dialog (WAI-ARIA's dialog pattern): while `open`, focus moves
 * into the dialog (its first field, else its first control), Tab and Shift+Tab stay inside it,
 * Escape calls `onClose`; when it closes, focus goes back to where it was before it opened.
 */
export function useDialogFocus(dialog: RefObject<HTMLElement | null>, open: boolean, onClose: () => void): void {
  // The latest onClose, without re-running the effect (which would move focus) on every render.
  const close = useRef(onClose);
  useEffect(() => {
    close.current = onClose;
  });
  useEffect(() => {
    if (!open) return;
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const element = dialog.current;
    const focusables = () => (element ? [...element.querySelectorAll<HTMLElement>(FOCUSABLE)] : []);
    (element?.querySelector<HTMLElement>("input:not([disabled]), textarea:not([disabled])") ?? focusables()[0])?.focus();
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close.current();
        return;
      }
      if (event.key !== "Tab" || !element) return;
      const all = focusables();
      if (all.length === 0) return;
      const [first, last] = [all[0]!, all.at(-1)!];
      const inside = element.contains(document.activeElement);
      if (event.shiftKey && (document.activeElement === first || !inside)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
        event.preventDefault();
        first.focus();
      }
    };
    document.addEventListener("keydown", onKeyDown);
    return () => {
      document.removeEventListener("keydown", onKeyDown);
      if (before?.isConnected) before.focus();
    };
  }, [dialog, open]);
}
