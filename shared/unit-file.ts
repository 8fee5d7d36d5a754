// What a unit file says about how its unit runs, read the way systemd reads it
// (systemd.syntax(7)): `[Section]` headers, `Key=value` lines, comments with #
// or ;, later assignments win, drop-ins after the file in name order. Used by
// the loader (validation hints), the planner (how a unit counts as healthy) and
// the in-memory unit driver. Pure: no Node-only code.

/** Marks every file the agent writes into a unit directory (unit files, and drop-ins of units it does not own). */
export const MANAGED_MARKER_PREFIX = '# Managed by gitfleet (';

/** Every `Key=value` assignment of a unit file and its drop-ins, in order, with its section. */
export function* unitAssignments(texts: readonly string[]): Generator<{ section: string; key: string; value: string }> {
  for (const text of texts) {
    let section = '';
    let pending = '';
    for (const raw of text.split('\n')) {
      // A line ending in a backslash continues on the next one.
      const line = (pending + raw).trim();
      if (line.endsWith('\\')) {
        pending = `${line.slice(0, -1)} `;
        continue;
      }
      pending = '';
      if (!line || line.startsWith('#') || line.startsWith(';')) continue;
      const header = /^\[(.+)\]$/.exec(line);
      if (header) section = header[1]!;
      else if (line.includes('=')) {
        const eq = line.indexOf('=');
        yield { section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() };
      }
    }
  }
}

/** `Section.Key` → value of a unit file and its drop-ins (later wins). An empty assignment resets, as in systemd. */
export function unitDirectives(texts: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const { section, key, value } of unitAssignments(texts)) {
    if (value === '') out.delete(`${section}.${key}`);
    else out.set(`${section}.${key}`, value);
  }
  return out;
}

const truthy = /^(1|yes|y|true|t|on)$/i;

export function unitTypeOf(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

/** A service whose main process is expected to exit: Type=oneshot without RemainAfterExit=yes. */
export function isRunToCompletion(d: Map<string, string>): boolean {
  return d.get('Service.Type') === 'oneshot' && !truthy.test(d.get('Service.RemainAfterExit') ?? 'no');
}

/** `a.service b.service` (space-separated, as Unit= and friends accept). */
function words(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter(Boolean);
}

/**
 * The services a timer, path or socket unit activates (systemd.timer(5),
 * systemd.path(5), systemd.socket(5)): `Unit=` (timer, path) or `Service=`
 * (socket), else the unit of the same name with .service; a socket with
 * `Accept=yes` activates instances of the template `NAME@.service`.
 */
export function activatedBy(name: string, d: Map<string, string>): string[] {
  const type = unitTypeOf(name);
  const stem = name.slice(0, name.lastIndexOf('.'));
  if (type === 'timer') return words(d.get('Timer.Unit')).length > 0 ? words(d.get('Timer.Unit')) : [`${stem}.service`];
  if (type === 'path') return words(d.get('Path.Unit')).length > 0 ? words(d.get('Path.Unit')) : [`${stem}.service`];
  if (type === 'socket') {
    if (truthy.test(d.get('Socket.Accept') ?? 'no')) return [`${stem.replace(/@$/, '')}@.service`];
    return words(d.get('Socket.Service')).length > 0 ? words(d.get('Socket.Service')) : [`${stem}.service`];
  }
  return [];
}

/** Whether the unit file has an [Install] section that `systemctl enable` acts on. */
export function isInstallable(d: Map<string, string>): boolean {
  return ['WantedBy', 'RequiredBy', 'UpheldBy', 'Alias', 'Also'].some((k) => d.has(`Install.${k}`));
}
