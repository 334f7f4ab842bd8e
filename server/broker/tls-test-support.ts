/**
 * Certificates for TLS tests, made with the system's `openssl` in a temporary directory: a CA, a
 * server certificate for 127.0.0.1 and localhost signed by it, a client certificate signed by it,
 * and a second CA that signed nothing of these. A test that calls this fails, never skips, when
 * openssl is missing.
 */
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface TestCertificates {
  dir: string;
  /** Paths of PEM files. */
  files: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string; otherCa: string };
  /** The same files' text. */
  pem: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string; otherCa: string };
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
  } catch (err) {
    throw new Error(
      `openssl ${args.join(" ")} failed (${(err as Error).message}). The TLS tests need openssl: apt-get install openssl`,
    );
  }
}

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function selfSignedCa(dir: string, name: string, subject: string): void {
  openssl(dir, ["req", "-x509", ...KEY, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", subject]);
}

function signedBy(dir: string, ca: string, name: string, subject: string, extensions: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(dir, ["req", ...KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  openssl(dir, [
    "x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`,
    "-set_serial", `0x${crypto.randomBytes(8).toString("hex")}`, "-days", "2", "-out", `${name}.pem`, "-extfile", `${name}.ext`,
  ]);
}

export function makeTestCertificates(): TestCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-tls-"));
  selfSignedCa(dir, "ca", "/CN=Eventscope test CA");
  selfSignedCa(dir, "other-ca", "/CN=Some other CA");
  signedBy(dir, "ca", "server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth");
  signedBy(dir, "ca", "client", "/CN=eventscope-collector", "extendedKeyUsage=clientAuth");
  const files = {
    ca: path.join(dir, "ca.pem"),
    serverCert: path.join(dir, "server.pem"),
    serverKey: path.join(dir, "server.key"),
    clientCert: path.join(dir, "client.pem"),
    clientKey: path.join(dir, "client.key"),
    otherCa: path.join(dir, "other-ca.pem"),
  };
  const read = (file: string) => fs.readFileSync(file, "utf8");
  return {
    dir,
    files,
    pem: {
      ca: read(files.ca),
      serverCert: read(files.serverCert),
      serverKey: read(files.serverKey),
      clientCert: read(files.clientCert),
      clientKey: read(files.clientKey),
      otherCa: read(files.otherCa),
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
