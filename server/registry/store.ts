/**
 * The registry's state: schemas by id, subjects with their versions, compatibility settings.
 *
 * As in Confluent's registry, an id names a schema (type, text and references), not a subject's
 * version: the same schema registered under two subjects has one id and a version in each.
 * Compatibility levels are kept and reported but never enforced, so a demo can register a
 * breaking change.
 */
import type { Journal } from "./journal.ts";
import { invalidSchema, RegistryError, schemaNotFound, subjectNotFound, versionNotFound } from "./registry-error.ts";
import { InvalidSchemaError, normaliseSchema, type SchemaType } from "./schema-text.ts";

export const compatibilityLevels = [
  "NONE",
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
] as const;
export type CompatibilityLevel = (typeof compatibilityLevels)[number];
export const defaultCompatibility: CompatibilityLevel = "BACKWARD";

export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

export interface SchemaInput {
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
}

export interface StoredSchema extends SchemaInput {
  id: number;
}

export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  schema: StoredSchema;
}

/** One line of the journal. */
type JournalEntry =
  | { kind: "version"; subject: string; version: number; id: number; schemaType: SchemaType; schema: string; references: SchemaReference[] }
  | { kind: "config"; subject: string | null; compatibility: CompatibilityLevel };

export class SchemaStore {
  private readonly byId = new Map<number, StoredSchema>();
  private readonly idByMatchKey = new Map<string, number>();
  /** Subject → the schema id of each version; version N is at index N - 1. */
  private readonly subjects = new Map<string, number[]>();
  private readonly subjectCompatibility = new Map<string, CompatibilityLevel>();
  private globalLevel: CompatibilityLevel = defaultCompatibility;
  private nextId = 1;

  constructor(private readonly journal?: Journal) {
    for (const entry of journal?.entries ?? []) this.apply(entry as JournalEntry);
  }

  /** Registers `input` under `subject`; a schema the subject already has keeps its id and version. */
  register(subject: string, input: SchemaInput): StoredSchema {
    const { schema, matchKey } = this.normalise(input);
    const existingId = this.idByMatchKey.get(matchKey);
    const versions = this.subjects.get(subject) ?? [];
    if (existingId !== undefined && versions.includes(existingId)) return this.byId.get(existingId)!;
    const entry: JournalEntry = {
      kind: "version",
      subject,
      version: versions.length + 1,
      id: existingId ?? this.nextId,
      ...schema,
    };
    this.journal?.append(entry);
    this.apply(entry);
    return this.byId.get(entry.id)!;
  }

  /** The version of `subject` that holds `input`. */
  lookup(subject: string, input: SchemaInput): SubjectVersion {
    const versions = this.subjects.get(subject);
    if (versions === undefined) throw subjectNotFound(subject);
    const { matchKey } = this.normalise(input);
    const id = this.idByMatchKey.get(matchKey);
    const index = id === undefined ? -1 : versions.indexOf(id);
    if (index === -1) throw schemaNotFound();
    return { subject, version: index + 1, id: id!, schema: this.byId.get(id!)! };
  }

  schemaById(id: number): StoredSchema {
    const schema = this.byId.get(id);
    if (schema === undefined) throw schemaNotFound(`Schema ${id} not found`);
    return schema;
  }

  /** Every subject version that holds schema `id`. */
  versionsOfId(id: number): { subject: string; version: number }[] {
    this.schemaById(id);
    const found: { subject: string; version: number }[] = [];
    for (const [subject, ids] of this.subjects) {
      ids.forEach((versionId, i) => {
        if (versionId === id) found.push({ subject, version: i + 1 });
      });
    }
    return found;
  }

  listSubjects(): string[] {
    return [...this.subjects.keys()].sort();
  }

  listVersions(subject: string): number[] {
    const versions = this.subjects.get(subject);
    if (versions === undefined) throw subjectNotFound(subject);
    return versions.map((_, i) => i + 1);
  }

  /** `version` is a number, or "latest". */
  getVersion(subject: string, version: number | "latest"): SubjectVersion {
    const versions = this.subjects.get(subject);
    if (versions === undefined) throw subjectNotFound(subject);
    const number = version === "latest" ? versions.length : version;
    const id = versions[number - 1];
    if (id === undefined) throw versionNotFound(number);
    return { subject, version: number, id, schema: this.byId.get(id)! };
  }

  /** The subject's own level, or undefined when it has none (it follows the global one). */
  compatibilityOf(subject: string | null): CompatibilityLevel | undefined {
    return subject === null ? this.globalLevel : this.subjectCompatibility.get(subject);
  }

  setCompatibility(subject: string | null, compatibility: CompatibilityLevel): void {
    const entry: JournalEntry = { kind: "config", subject, compatibility };
    this.journal?.append(entry);
    this.apply(entry);
  }

  private apply(entry: JournalEntry): void {
    if (entry.kind === "config") {
      if (entry.subject === null) this.globalLevel = entry.compatibility;
      else this.subjectCompatibility.set(entry.subject, entry.compatibility);
      return;
    }
    const { subject, id, schemaType, schema, references } = entry;
    if (!this.byId.has(id)) {
      this.byId.set(id, { id, schemaType, schema, references });
      this.idByMatchKey.set(this.normalise({ schemaType, schema, references }).matchKey, id);
      this.nextId = Math.max(this.nextId, id + 1);
    }
    const versions = this.subjects.get(subject) ?? [];
    versions[entry.version - 1] = id;
    this.subjects.set(subject, versions);
  }

  /** Checks `input` (its text, and that its references exist) and gives its stored form and match key. */
  private normalise(input: SchemaInput): { schema: SchemaInput; matchKey: string } {
    let normalised;
    try {
      normalised = normaliseSchema(input.schemaType, input.schema);
    } catch (err) {
      if (err instanceof InvalidSchemaError) throw invalidSchema(err.message);
      throw err;
    }
    for (const ref of input.references) {
      try {
        this.getVersion(ref.subject, ref.version);
      } catch (err) {
        if (err instanceof RegistryError) throw invalidSchema(`reference "${ref.name}": ${err.message}`);
        throw err;
      }
    }
    return {
      schema: { schemaType: input.schemaType, schema: normalised.text, references: input.references },
      matchKey: JSON.stringify([input.schemaType, normalised.matchKey, input.references]),
    };
  }
}
