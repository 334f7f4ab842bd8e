import { z } from "zod";

/**
 * GET /api/health/live: for load balancers, open even when reads need a token, so it says nothing
 * but up or down (no host, pid or error text). Up: this web server answers and its database does.
 */
export const livenessSchema = z.object({ status: z.enum(["up", "down"]) }).strict();

export type Liveness = z.infer<typeof livenessSchema>;
