// One engine event (as decoded from /events) → a ContainerEvent, or null for
// events the agent does not watch (exec_*, attach, non-container types…).
import { containerEventActions, type ContainerEvent } from '../types.ts';

/** Actor attributes the engine adds next to the container's labels. */
const nonLabelAttributes = new Set(['name', 'image', 'exitCode', 'signal', 'execDuration', 'containerExitCode', 'podId']);
const watched = new Set<string>(containerEventActions);
/** Podman's names for the same events (it sends `remove` where Docker sends `destroy`). */
const podmanActions: Record<string, string> = { remove: 'destroy' };

interface EngineEvent {
  Type?: unknown;
  Action?: unknown;
  time?: unknown;
  timeNano?: unknown;
  Actor?: { ID?: unknown; Attributes?: unknown };
}

export function parseEngineEvent(raw: unknown): ContainerEvent | null {
  if (raw === null || typeof raw !== 'object') return null;
  const event = raw as EngineEvent;
  if (event.Type !== 'container' || typeof event.Action !== 'string') return null;
  // health_status arrives as "health_status: healthy"
  const [engineAction, detail] = event.Action.split(/:\s*/, 2) as [string, string | undefined];
  const action = podmanActions[engineAction] ?? engineAction;
  if (!watched.has(action)) return null;
  const id = typeof event.Actor?.ID === 'string' ? event.Actor.ID : '';
  const attributes = isStringRecord(event.Actor?.Attributes) ? event.Actor.Attributes : {};
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) if (!nonLabelAttributes.has(key)) labels[key] = value;
  const parsed: ContainerEvent = { action: action as ContainerEvent['action'], id, name: attributes.name ?? '', labels };
  if (action === 'die' && attributes.exitCode !== undefined && /^-?\d+$/.test(attributes.exitCode)) parsed.exitCode = Number(attributes.exitCode);
  if (action === 'health_status' && (detail === 'healthy' || detail === 'unhealthy' || detail === 'starting')) parsed.health = detail;
  const time = eventTimeMs(event);
  if (time !== undefined) parsed.time = time;
  return parsed;
}

/** The event's time in ms, preferring the nanosecond field. */
function eventTimeMs(event: EngineEvent): number | undefined {
  if (typeof event.timeNano === 'number') return Math.floor(event.timeNano / 1e6);
  if (typeof event.time === 'number') return event.time * 1000;
  return undefined;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return value !== null && typeof value === 'object' && Object.values(value).every((v) => typeof v === 'string');
}

/** The `image` attribute of a container event (the reference the container was created from). */
export function eventImage(raw: unknown): string | undefined {
  const attributes = (raw as EngineEvent | null)?.Actor?.Attributes;
  if (!isStringRecord(attributes)) return undefined;
  return attributes.image;
}
