// Signal numbers as the kernel reports them (systemd's ExecMainStatus, Docker's
// 128+n exit codes) turned into the names people read: 9 → SIGKILL.
import { constants } from 'node:os';

const byNumber = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

export function signalName(n: number): string {
  return byNumber.get(n) ?? `signal ${n}`;
}
