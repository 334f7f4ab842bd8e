/**
 * Why a value does not fit its schema, said for the user (a replay with an edited value is refused
 * with this message): `path` names the field ("amount", "lines[2].sku"; "" for the value itself).
 */
export class SchemaMismatch extends Error {
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`${path === "" ? "value" : path}: ${reason}`);
    this.name = "SchemaMismatch";
    this.path = path;
  }
}

/** "amount: expected a decimal with at most 2 digits after the point, got "12.345"". */
export function mismatch(path: string, expected: string, got: unknown): SchemaMismatch {
  return new SchemaMismatch(path, `expected ${expected}, got ${describeGot(got)}`);
}

function describeGot(got: unknown): string {
  if (got === undefined) return "nothing";
  const text = JSON.stringify(got) ?? String(got);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
