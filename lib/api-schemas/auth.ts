import { z } from "zod";

export const loginRequestSchema = z
  .object({
    token: z.string().trim().min(1, "enter a token").max(1024, "a token is at most 1024 characters"),
  })
  .strict();

export type LoginRequest = z.infer<typeof loginRequestSchema>;

/** Where to go after signing in: a path on this site only (never another origin). */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/dead-letters";
  return next;
}
