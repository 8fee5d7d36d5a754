// Parses `systemctl show -p A,B,… UNIT…`: one block of KEY=value lines per unit,
// blank-line separated, in the order the units were named (the keys within a
// block come in systemd's own order, not ours).

export const showProperties = ['Id', 'LoadState', 'UnitFileState', 'ActiveState', 'SubState', 'Result', 'NRestarts', 'NeedDaemonReload'] as const;
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
