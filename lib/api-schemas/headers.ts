import { z } from "zod";

/** One header as stored (a jsonb array in record order, repeated keys kept). */
export const storedHeaderSchema = z.object({
  key: z.string(),
  /** The text, or the bytes in base64; null for a null value. */
  value: z.string().nullable(),
  encoding: z.enum(["utf8", "base64"]),
});

export type StoredHeader = z.infer<typeof storedHeaderSchema>;
