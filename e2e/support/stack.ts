/**
 * What the global set-up tells the specs about the running stack, through the environment (the
 * Playwright runner passes its environment, set-up included, to the workers).
 */
export const STACK_ENV = {
  /** The web UI, e.g. http://127.0.0.1:41234. Set it yourself to reuse a running stack. */
  baseUrl: "E2E_BASE_URL",
  /** The admin token (writes: replay, resolve, discard). */
  adminToken: "E2E_ADMIN_TOKEN",
  /** Eventscope's database, for specs that check what a click changed. */
  databaseUrl: "E2E_DATABASE_URL",
  /** The Kafka brokers the demo services use. */
  kafkaBrokers: "E2E_KAFKA_BROKERS",
  /** Internal: the launcher's pid and the temporary directory, for the teardown. */
  launcherPid: "E2E_LAUNCHER_PID",
  tempDir: "E2E_TEMP_DIR",
} as const;

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: the e2e global set-up (e2e/global-setup.ts) sets it; run the specs with \`npm run test:e2e\``,
    );
  }
  return value;
}

/** The running stack, as the specs see it. */
export const stack = {
  get baseUrl(): string {
    return required(STACK_ENV.baseUrl);
  },
  get adminToken(): string {
    return required(STACK_ENV.adminToken);
  },
  get databaseUrl(): string {
    return required(STACK_ENV.databaseUrl);
  },
  get kafkaBrokers(): string {
    return required(STACK_ENV.kafkaBrokers);
  },
};
