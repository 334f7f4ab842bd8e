/**
 * Bounds on waiting for something that may never finish (a broker or database that does not
 * answer). The work itself is not cancelled: a caller that stops waiting says what it left.
 */

/** `promise`, or a rejection after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Whether `work` settled (resolved or rejected) within `ms`; never throws. */
export function settlesWithin(work: Promise<unknown> | undefined, ms: number): Promise<boolean> {
  if (work === undefined) return Promise.resolve(true);
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, ms));
    }),
  ]).finally(() => clearTimeout(timer));
}
