/**
 * Whether a process exists: signal 0 checks without sending anything. EPERM means it exists but
 * belongs to another user (the postgres or rabbitmq user, when we run as root). Node built-ins only.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
