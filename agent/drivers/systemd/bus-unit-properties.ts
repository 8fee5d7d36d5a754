// The units' state as `systemctl show -p …` prints it (showProperties), read
// from systemd over the D-Bus system bus instead: one ListUnitsByNames for the
// load, active and sub states and each unit's object path (it loads units
// systemd has not loaded, as `show` does), then one Properties.Get per other
// property, all in flight at once. An idle agent looks at its units twice a
// minute; asking the bus spares it starting systemctl each time, which forks
// the whole agent process (docs/edge.md, "Footprint").
import { BusCallError, BusUnavailableError, type BusConnection } from './dbus-connection.ts';
import type { BusValue } from './dbus-wire.ts';
import type { ShowProperty } from './systemctl-show.ts';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const UNIT = 'org.freedesktop.systemd1.Unit';

/** The interface of each unit type's own properties, by the name's suffix. */
const TYPE_INTERFACE: Record<string, string> = {
  service: 'org.freedesktop.systemd1.Service',
  socket: 'org.freedesktop.systemd1.Socket',
  timer: 'org.freedesktop.systemd1.Timer',
  path: 'org.freedesktop.systemd1.Path',
  mount: 'org.freedesktop.systemd1.Mount',
  automount: 'org.freedesktop.systemd1.Automount',
  swap: 'org.freedesktop.systemd1.Swap',
  scope: 'org.freedesktop.systemd1.Scope',
  slice: 'org.freedesktop.systemd1.Slice',
  device: 'org.freedesktop.systemd1.Device',
  target: 'org.freedesktop.systemd1.Target',
};

/** Where each property lives: every unit's interface, or its type's (a property the type lacks is left out, as `show` leaves it out). */
const UNIT_PROPERTIES = ['UnitFileState', 'NeedDaemonReload', 'TriggeredBy', 'ConditionResult', 'ConditionTimestampMonotonic'] as const satisfies readonly ShowProperty[];
const TYPE_PROPERTIES = ['Result', 'NRestarts', 'Type', 'RemainAfterExit', 'ExecMainCode', 'ExecMainStatus'] as const satisfies readonly ShowProperty[];

/** The errors that mean "no such property here", which `systemctl show` answers by leaving the property out. */
const ABSENT = new Set(['org.freedesktop.DBus.Error.UnknownProperty', 'org.freedesktop.DBus.Error.UnknownInterface']);
const IN_FLIGHT = 64;

/** A property value in `systemctl show`'s words: yes/no, decimal numbers, arrays space-separated. */
export function showValue(value: BusValue): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.map(showValue).join(' ');
  if (typeof value === 'object') return showValue(value.value);
  return String(value);
}

/**
 * Rejects when the bus does not answer as expected (the caller then runs
 * systemctl); a look that takes longer than timeoutMs closes the connection.
 */
export async function busUnitProperties(bus: BusConnection, names: string[], timeoutMs: number): Promise<Record<string, string>[]> {
  const deadline = setTimeout(() => bus.close(new BusUnavailableError(`the system bus did not answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const [listed] = await bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'ListUnitsByNames', [names]);
    // a(ssssssouso): id, description, load state, active state, sub state, following, object path, job id, job type, job path.
    const rows = listed as BusValue[][];
    if (!Array.isArray(rows) || rows.length !== names.length) throw new BusCallError('gitfleet.UnexpectedReply', `ListUnitsByNames returned ${Array.isArray(rows) ? rows.length : 'no'} units for ${names.length} names`);
    const props = names.map((name, i): Record<string, string> => {
      const [id, , loadState, activeState, subState] = rows[i]!.map((v) => String(v));
      return { Id: id!, LoadState: loadState!, ActiveState: activeState!, SubState: subState! };
    });
    const gets = names.flatMap((name, i) => {
      const path = String(rows[i]![6]);
      const typeInterface = TYPE_INTERFACE[name.slice(name.lastIndexOf('.') + 1)];
      return [...UNIT_PROPERTIES.map((p) => ({ i, path, iface: UNIT, property: p as string })), ...(typeInterface ? TYPE_PROPERTIES.map((p) => ({ i, path, iface: typeInterface, property: p as string })) : [])];
    });
    // A bounded number in flight: the bus refuses a connection more pending
    // calls than its limit (dbus-daemon's max_replies_per_connection).
    let next = 0;
    const worker = async () => {
      while (next < gets.length) {
        const { i, path, iface, property } = gets[next++]!;
        try {
          const [value] = await bus.call(SYSTEMD, path, PROPERTIES, 'Get', [iface, property]);
          props[i]![property] = showValue(value!);
        } catch (error) {
          // This unit type has no such property: `show` leaves it out too. Any other error ends the look.
          if (!(error instanceof BusCallError && ABSENT.has(error.errorName))) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, gets.length) }, worker));
    return props;
  } finally {
    clearTimeout(deadline);
  }
}
