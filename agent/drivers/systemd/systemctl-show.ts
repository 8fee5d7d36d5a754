// Parses `systemctl show -p A,B,… UNIT…`: one block of KEY=value lines per unit,
// blank-line separated, in the order the units were named (the keys within a
// block come in systemd's own order, not ours).

export const showProperties = [
  'Id',
  'LoadState',
  'UnitFileState',
  'ActiveState',
  'SubState',
  'Result',
  'NRestarts',
  'NeedDaemonReload',
  // Services only (other unit types leave them out or empty): how the unit runs and how its last run ended.
  'Type',
  'RemainAfterExit',
  'TriggeredBy',
  'ExecMainCode',
  'ExecMainStatus',
  // Whether the Condition…= checks held at the last start (the timestamp is empty when never checked).
  'ConditionResult',
  'ConditionTimestampMonotonic',
] as const;
export type ShowProperty = (typeof showProperties)[number];

export function parseShow(stdout: string): Record<string, string>[] {
  return stdout
    .split(/\n\s*\n/)
    .map((block) => block.trim())
    .filter(Boolean)
    .map((block) => {
      const props: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1);
      }
      return props;
    });
}

// ExecMainCode is the CLD_* code of the main process's end (waitid(2)): the
// status is an exit status when it exited, a signal number when it was killed.
const CLD_EXITED = '1';
const CLD_KILLED = '2';
const CLD_DUMPED = '3';

/** The exit code or the signal of the last main process, from ExecMainCode/ExecMainStatus; both null when it never ended. */
export function lastExit(props: Record<string, string>, signalName: (n: number) => string): { exitCode: number | null; signal: string | null } {
  const status = Number(props.ExecMainStatus ?? '');
  if (!Number.isInteger(status)) return { exitCode: null, signal: null };
  if (props.ExecMainCode === CLD_EXITED) return { exitCode: status, signal: null };
  if (props.ExecMainCode === CLD_KILLED || props.ExecMainCode === CLD_DUMPED) return { exitCode: null, signal: signalName(status) };
  return { exitCode: null, signal: null };
}
