/**
 * A duration in words for people: "45 s", "5 min", "2 h 3 min", "3 d 4 h". Two units at most:
 * a reason such as "has not moved for 5 min" must stay short, and seconds stop mattering once
 * minutes are counted. Negative or non-finite input reads "0 s".
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000) return ms >= 1 && Number.isFinite(ms) ? `${Math.round(ms)} ms` : "0 s";
  const seconds = Math.floor(ms / 1000);
  const units: [number, string][] = [
    [86_400, "d"],
    [3_600, "h"],
    [60, "min"],
    [1, "s"],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [size, name] of units) {
    if (parts.length === 2) break;
    const amount = Math.floor(rest / size);
    // After the first unit, a zero next unit ends the text: "2 h", not "2 h 0 min".
    if (amount > 0) parts.push(`${amount} ${name}`);
    else if (parts.length === 1) break;
    rest -= amount * size;
  }
  return parts.join(" ");
}
