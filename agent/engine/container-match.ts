// Does a container someone else created (by hand, or a Compose project) hold
// exactly what its declaration would create? Adoption (docs/adopt.md) takes such
// a container over as it is; any difference is listed by its Compose key, so the
// status and `gitfleet plan` say why it would be replaced.
//
// Values are shown except the environment's (only the names of the variables
// that differ: values are often secrets), and nothing at all for a resource
// that holds a secret. The labels Compose puts on its containers
// (com.docker.compose.*) are not part of the comparison unless declared.
import type { ContainerResource } from '../../shared/resources.ts';
import { MASK } from '../../shared/secrets/mask.ts';
import type { FieldDiff } from '../../shared/status.ts';
import { extraNetworks, toCreateBody } from '../drivers/docker/container-config.ts';
import { viewOfCreateBody } from '../drivers/docker/config-view.ts';
import { normalizeImageRef } from '../drivers/image-ref.ts';
import { containerLabels, type ContainerConfigView } from '../drivers/types.ts';
import { canonicalJson } from './hash.ts';

const composeLabel = /^com\.docker\.compose\./;
const ownLabels = new Set<string>(Object.values(containerLabels));

type Field = { key: string; declared: unknown; live: unknown };

function compared(declared: ContainerConfigView, live: ContainerConfigView): Field[] {
  const liveLabels = Object.fromEntries(Object.entries(live.labels).filter(([k]) => !ownLabels.has(k) && (!composeLabel.test(k) || k in declared.labels)));
  const fields: Field[] = [
    { key: 'image', declared: normalizeImageRef(declared.image), live: normalizeImageRef(live.image) },
    { key: 'entrypoint', declared: declared.entrypoint, live: live.entrypoint },
    { key: 'command', declared: declared.cmd, live: live.cmd },
    { key: 'environment', declared: declared.env, live: live.env },
    { key: 'labels', declared: declared.labels, live: liveLabels },
    { key: 'user', declared: declared.user, live: live.user },
    { key: 'working_dir', declared: declared.workingDir, live: live.workingDir },
    { key: 'stop_signal', declared: declared.stopSignal, live: live.stopSignal },
    { key: 'stop_grace_period', declared: declared.stopTimeout, live: live.stopTimeout },
    { key: 'healthcheck', declared: declared.healthcheck, live: live.healthcheck },
    { key: 'volumes', declared: declared.volumes, live: live.volumes },
    { key: 'ports', declared: declared.ports, live: live.ports },
    { key: 'restart', declared: declared.restart, live: live.restart },
    { key: 'network_mode', declared: declared.networkMode, live: live.networkMode },
    { key: 'privileged', declared: declared.privileged, live: live.privileged },
    { key: 'init', declared: declared.init, live: live.init },
    { key: 'read_only', declared: declared.readOnly, live: live.readOnly },
    { key: 'cap_add', declared: declared.capAdd, live: live.capAdd },
    { key: 'cap_drop', declared: declared.capDrop, live: live.capDrop },
    { key: 'devices', declared: declared.devices, live: live.devices },
    { key: 'mem_limit', declared: declared.memory, live: live.memory },
    { key: 'mem_reservation', declared: declared.memoryReservation, live: live.memoryReservation },
    { key: 'pids_limit', declared: declared.pidsLimit, live: live.pidsLimit },
    { key: 'cpus', declared: declared.nanoCpus, live: live.nanoCpus },
    { key: 'extra_hosts', declared: declared.extraHosts, live: live.extraHosts },
    { key: 'tmpfs', declared: declared.tmpfs, live: live.tmpfs },
    { key: 'ulimits', declared: declared.ulimits, live: live.ulimits },
  ];
  // Chosen by the engine when not declared: compared only when declared.
  if (declared.hostname !== null) fields.push({ key: 'hostname', declared: declared.hostname, live: live.hostname });
  if (declared.logging !== null) fields.push({ key: 'logging', declared: declared.logging, live: live.logging });
  if (declared.networks !== null) fields.push({ key: 'networks', declared: declared.networks, live: live.networks });
  return fields;
}

/** A value short enough for a status (the hub bounds each to 1024 characters). */
function shown(value: unknown): unknown {
  const text = typeof value === 'string' ? value : canonicalJson(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : value;
}

function envNames(a: string[], b: string[]): string[] {
  const map = (l: string[]) => new Map(l.map((e) => [e.split('=', 1)[0]!, e]));
  const ma = map(a);
  const mb = map(b);
  return [...new Set([...ma.keys(), ...mb.keys()])].filter((k) => ma.get(k) !== mb.get(k)).sort();
}

/**
 * The differences between what `resource` would create and the live
 * container's configuration, one per Compose key; [] when they match.
 */
export function containerConfigDiff(resource: ContainerResource, live: ContainerConfigView): FieldDiff[] {
  let declared: ContainerConfigView;
  try {
    declared = viewOfCreateBody(toCreateBody(resource.spec, {}), extraNetworks(resource.spec).map((n) => n.name), live.imageDefaults);
  } catch (error) {
    return [{ field: 'spec', desired: 'invalid', live: (error as Error).message.slice(0, 200) }];
  }
  const diffs: FieldDiff[] = [];
  for (const f of compared(declared, live)) {
    if (canonicalJson(f.declared) === canonicalJson(f.live)) continue;
    if (resource.secret) diffs.push({ field: f.key, desired: MASK, live: 'differs' });
    else if (f.key === 'environment') diffs.push({ field: f.key, desired: 'as declared', live: `differs: ${envNames(f.declared as string[], f.live as string[]).join(', ')}` });
    else diffs.push({ field: f.key, desired: shown(f.declared), live: shown(f.live) });
  }
  return diffs;
}
