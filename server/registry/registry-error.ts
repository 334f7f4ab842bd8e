/**
 * An answer the registry gives instead of a result: the HTTP status and Confluent's own error code
 * (the status followed by two digits that say which kind, e.g. 40401 subject not found), which
 * clients match on. Retrying the same request never helps.
 */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }

  toJSON(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const subjectNotFound = (subject: string) => new RegistryError(404, 40401, `Subject '${subject}' not found.`);
export const versionNotFound = (version: number) => new RegistryError(404, 40402, `Version ${version} not found.`);
export const schemaNotFound = (what = "Schema not found") => new RegistryError(404, 40403, what);
export const invalidSchema = (detail: string) => new RegistryError(422, 42201, `Invalid schema: ${detail}`);
