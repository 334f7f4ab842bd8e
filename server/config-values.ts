import crypto from "node:crypto";
import fs from "node:fs";
import { z } from "zod";

/**
 * The checks of connection settings that both the environment (server/config.ts) and the sources
 * file (server/sources-file.ts) hold: brokers, SASL, TLS files, the Schema Registry, topic
 * patterns and entity fields. Each says in words what it expects; one owner per rule, so
 * KAFKA_SSL_CA and a source's `ssl.caFile` are checked by the same code.
 */

/** An empty value (or only spaces) counts as unset, in the environment and for the variables the sources file names. */
export const emptyAsUnset = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value;

export function list(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

export const regExp = z.string().transform((source, ctx) => {
  try {
    return new RegExp(source);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: `expected a regular expression (JavaScript syntax), got ${JSON.stringify(source)}: ${
        (error as Error).message
      }`,
    });
    return z.NEVER;
  }
});

/** `kafka-1:9092`, `10.0.0.5:9092`, `[::1]:9092`. */
export function isHostPort(item: string): boolean {
  return /^[^\s:,]+:\d{1,5}$/.test(item) || /^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(item);
}

/** KAFKA_BROKERS: a comma-separated list of host:port. */
export const brokers = z.string().transform((text, ctx) => {
  const items = list(text);
  if (items.length === 0 || !items.every(isHostPort)) {
    ctx.addIssue({
      code: "custom",
      message: `expected a comma-separated list of host:port (e.g. kafka-1:9092,kafka-2:9092), got ${JSON.stringify(text)}`,
    });
    return z.NEVER;
  }
  return items;
});

export const saslMechanism = z.string().transform((text, ctx) => {
  const value = text.trim().toLowerCase();
  if (value === "plain" || value === "scram-sha-256" || value === "scram-sha-512") return value;
  ctx.addIssue({
    code: "custom",
    message: `expected plain, scram-sha-256 or scram-sha-512, got ${JSON.stringify(text)}`,
  });
  return z.NEVER;
});

export type SaslMechanism = z.output<typeof saslMechanism>;

/**
 * PEM text itself, or the path of a readable file holding it (KAFKA_SSL_CA, KAFKA_SSL_CERT,
 * KAFKA_SSL_KEY); with `pathOnly`, a path only (the sources file's caFile, certFile, keyFile).
 * `check` says what is wrong with the text, if anything.
 */
const pem = (what: string, check: (pem: string) => string | null, pathOnly: boolean) =>
  z.string().transform((text, ctx) => {
    let pem = text;
    if (pathOnly || !text.includes("-----BEGIN")) {
      try {
        pem = fs.readFileSync(text, "utf8");
      } catch (error) {
        ctx.addIssue({
          code: "custom",
          message: `expected ${pathOnly ? `the path of a readable PEM file (${what})` : `${what} or the path of a readable PEM file`}; cannot read ${JSON.stringify(
            text,
          )}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        });
        return z.NEVER;
      }
    }
    const problem = check(pem);
    if (problem !== null) {
      ctx.addIssue({ code: "custom", message: `expected ${what}${pem === text ? "" : ` in ${JSON.stringify(text)}`}: ${problem}` });
      return z.NEVER;
    }
    return pem;
  });

function certificateProblem(text: string): string | null {
  try {
    new crypto.X509Certificate(text);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

function privateKeyProblem(text: string): string | null {
  try {
    crypto.createPrivateKey(text);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A CA, a client certificate and its key, as PEM text or paths (`pathOnly`: paths only). */
export const sslCa = (pathOnly = false) => pem("a PEM certificate", () => null, pathOnly);
export const sslCert = (pathOnly = false) => pem("a PEM certificate", certificateProblem, pathOnly);
export const sslKey = (pathOnly = false) => pem("an unencrypted PEM private key", privateKeyProblem, pathOnly);

/** Whether `key` (PEM) is the private key of `cert` (PEM); both already checked by sslCert / sslKey. */
export function isKeyOfCertificate(cert: string, key: string): boolean {
  return new crypto.X509Certificate(cert).checkPrivateKey(crypto.createPrivateKey(key));
}

/** A JSON field name or a dotted path such as order.id. */
export function isFieldPath(item: string): boolean {
  return /^[^.\s]+(?:\.[^.\s]+)*$/.test(item);
}

export const fieldList = (what: string) =>
  z.string().transform((text, ctx) => {
    const items = list(text);
    if (items.length === 0 || !items.every(isFieldPath)) {
      ctx.addIssue({
        code: "custom",
        message: `expected a comma-separated list of ${what} (field names or dotted paths such as order.id), got ${JSON.stringify(text)}`,
      });
      return z.NEVER;
    }
    return items;
  });

export const registryUrl = z.string().transform((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text.trim());
  } catch {
    url = undefined;
  }
  if (!url || !["http:", "https:"].includes(url.protocol)) {
    ctx.addIssue({ code: "custom", message: `expected the http(s) URL of a Schema Registry, e.g. http://registry:8081, got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return url.toString().replace(/\/+$/, "");
});

/**
 * The message for entity fields that EVENTSCOPE_MASK_FIELDS masks; `origin` says where the entity
 * fields were set.
 */
export function maskedEntityFieldsMessage(conflicts: readonly string[], origin: string): string {
  return `masks ${conflicts.join(", ")}, which ${conflicts.length === 1 ? "is an entity field" : "are entity fields"} (${origin}): entity keys are shown in every list and page address, so a masked value cannot be one. Choose other entity fields or do not mask these`;
}

// --- the shapes a Kafka cluster's settings take, wherever they come from ----------------------

/**
 * How to reach a Kafka cluster besides its brokers (Config.kafka, SourceConfig.kafka): SASL, and
 * TLS: false, or TLS options with the CA when one is given and the client certificate and key
 * (mutual TLS); a CA or a certificate implies TLS.
 */
export function kafkaSecurity(settings: {
  sasl: { mechanism: SaslMechanism; username: string; password: string } | undefined;
  tls: boolean;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
}) {
  const { sasl, tls, ca, cert, key } = settings;
  return {
    sasl,
    ssl: tls || ca !== undefined || cert !== undefined ? { ca: ca === undefined ? undefined : [ca], cert, key } : (false as const),
  };
}

export type KafkaSecurity = ReturnType<typeof kafkaSecurity>;

/** A Confluent-compatible Schema Registry (Config.schemaRegistry, SourceConfig.schemaRegistry). */
export interface SchemaRegistrySettings {
  url: string;
  username: string | undefined;
  password: string | undefined;
}
