/**
 * A seeded generator (xorshift32) for the tests that feed extraction "random" messages: the same
 * sequence on every run. Integer shifts only: a multiplication past 2^53 loses the low bits and
 * would make every roll the same. Each call returns an unsigned 32-bit integer.
 */
export function xorshift32(seed: number): () => number {
  let state = seed | 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}
