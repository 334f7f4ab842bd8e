import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";

/**
 * SASL for the embedded broker: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802/7677), against a
 * file of `user:password` lines. The passwords are only held in memory as SCRAM credentials (one
 * per hash) and, for PLAIN, compared in constant time.
 */
export const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** The hash of each SCRAM mechanism, and its output length in bytes. */
const SCRAM_HASHES = { "SCRAM-SHA-256": { hash: "sha256", bytes: 32 }, "SCRAM-SHA-512": { hash: "sha512", bytes: 64 } } as const;
type ScramMechanism = keyof typeof SCRAM_HASHES;

const SCRAM_ITERATIONS = 4096;

interface ScramCredential {
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

interface Credential {
  password: Buffer;
  scram: Record<ScramMechanism, ScramCredential>;
}

function scramCredential(password: string, mechanism: ScramMechanism): ScramCredential {
  const { hash, bytes } = SCRAM_HASHES[mechanism];
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, bytes, hash);
  return {
    salt,
    storedKey: createHash(hash).update(hmac(hash, salted, "Client Key")).digest(),
    serverKey: hmac(hash, salted, "Server Key"),
  };
}

export class SaslUsers {
  private users = new Map<string, Credential>();

  static fromFile(file: string): SaslUsers {
    const users = new SaslUsers();
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    lines.forEach((line, i) => {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith("#")) return;
      const colon = trimmed.indexOf(":");
      if (colon <= 0) throw new Error(`${file}:${i + 1}: expected user:password`);
      users.add(trimmed.slice(0, colon), trimmed.slice(colon + 1));
    });
    if (users.users.size === 0) throw new Error(`${file}: no users`);
    return users;
  }

  add(user: string, password: string): void {
    this.users.set(user, {
      password: Buffer.from(password),
      scram: { "SCRAM-SHA-256": scramCredential(password, "SCRAM-SHA-256"), "SCRAM-SHA-512": scramCredential(password, "SCRAM-SHA-512") },
    });
  }

  get(user: string): Credential | undefined {
    return this.users.get(user);
  }
}

function hmac(hash: string, key: Buffer, data: string): Buffer {
  return createHmac(hash, key).update(data).digest();
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export type SaslStep =
  | { done: false; challenge: Buffer }
  | { done: true; user: string; challenge: Buffer }
  | { failed: string };

/** One authentication exchange on one connection. */
export class SaslSession {
  private scram: { user: string; cred: ScramCredential; clientFirstBare: string; serverFirst: string; nonce: string } | null = null;

  constructor(
    private readonly users: SaslUsers,
    readonly mechanism: SaslMechanism,
  ) {}

  step(token: Buffer): SaslStep | { done: false; challenge: Buffer } {
    return this.mechanism === "PLAIN" ? this.plain(token) : this.scramStep(token, this.mechanism);
  }

  private plain(token: Buffer): SaslStep {
    // authzid \0 authcid \0 password
    const parts = token.toString("utf8").split("\0");
    if (parts.length !== 3) return { failed: "malformed PLAIN token" };
    const [, user = "", password = ""] = parts;
    const cred = this.users.get(user);
    if (!cred || !safeEqual(cred.password, Buffer.from(password))) {
      return { failed: `Authentication failed: invalid username or password` };
    }
    return { done: true, user, challenge: Buffer.alloc(0) };
  }

  private scramStep(token: Buffer, mechanism: ScramMechanism): SaslStep {
    const { hash } = SCRAM_HASHES[mechanism];
    const text = token.toString("utf8");
    if (!this.scram) {
      // client-first: gs2-header "n,," then "n=user,r=nonce"
      const m = /^[ny](?:=[^,]*)?,[^,]*,(n=([^,]*),r=([^,]+).*)$/.exec(text);
      if (!m) return { failed: "malformed SCRAM client-first message" };
      const user = m[2]!.replace(/=2C/g, ",").replace(/=3D/g, "=");
      const cred = this.users.get(user)?.scram[mechanism];
      if (!cred) return { failed: "Authentication failed: invalid username or password" };
      const nonce = m[3]! + randomBytes(18).toString("base64");
      const serverFirst = `r=${nonce},s=${cred.salt.toString("base64")},i=${SCRAM_ITERATIONS}`;
      this.scram = { user, cred, clientFirstBare: m[1]!, serverFirst, nonce };
      return { done: false, challenge: Buffer.from(serverFirst) };
    }
    const m = /^(c=[^,]*,r=([^,]+)(?:,.*)?),p=([^,]+)$/.exec(text);
    // Kafka checks that the nonce ENDS with the server-first nonce, not that it equals it:
    // librdkafka sends its client nonce again in front of it (r=<client nonce><server-first r>).
    if (!m || !m[2]!.endsWith(this.scram.nonce)) return { failed: "malformed SCRAM client-final message" };
    const { cred, clientFirstBare, serverFirst, user } = this.scram;
    const authMessage = `${clientFirstBare},${serverFirst},${m[1]}`;
    const clientSignature = createHmac(hash, cred.storedKey).update(authMessage).digest();
    const proof = Buffer.from(m[3]!, "base64");
    if (proof.length !== clientSignature.length) return { failed: "Authentication failed: invalid username or password" };
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    if (!safeEqual(createHash(hash).update(clientKey).digest(), cred.storedKey)) {
      return { failed: "Authentication failed: invalid username or password" };
    }
    const serverSignature = createHmac(hash, cred.serverKey).update(authMessage).digest("base64");
    return { done: true, user, challenge: Buffer.from(`v=${serverSignature}`) };
  }
}
