// systemd's unit name grammar (systemd.unit(5)): prefix[@instance].type from
// a small alphabet, at most 255 characters. Checked before anything touches
// the disk or systemctl, so a name can never carry a path or an option.
import { GitfleetError } from '../../../shared/errors.ts';

export const unitTypes = ['service', 'socket', 'device', 'mount', 'automount', 'swap', 'target', 'path', 'timer', 'slice', 'scope'] as const;
const chars = '[A-Za-z0-9:_.\\\\-]';
const unitName = new RegExp(`^${chars}+(@${chars}*)?\\.(${unitTypes.join('|')})$`);
const dropinName = /^[A-Za-z0-9_@-][A-Za-z0-9_.@-]*\.conf$/;

export function isValidUnitName(name: string): boolean {
  return typeof name === 'string' && name.length <= 255 && unitName.test(name);
}

export function assertUnitName(name: string): void {
  if (!isValidUnitName(name)) {
    throw new GitfleetError('INVALID_NAME', `${JSON.stringify(name)} is not a systemd unit name (like hello.service or app@1.service; types: ${unitTypes.join(', ')})`);
  }
}

export function assertDropinName(unit: string, name: string): void {
  if (typeof name !== 'string' || name.length > 255 || !dropinName.test(name)) {
    throw new GitfleetError('INVALID_NAME', `drop-in ${JSON.stringify(name)} of ${unit} must be a file name ending in .conf (letters, digits, _ . @ -)`);
  }
}

/** `app@.service`: a template, which systemctl show cannot load and start cannot run. */
export function isTemplateName(name: string): boolean {
  return /@\.[a-z]+$/.test(name);
}

/** `app@1.service` → `app@.service`; null for a name that is not an instance. */
export function templateOf(name: string): string | null {
  const m = /^([^@]+)@(.+)\.([a-z]+)$/.exec(name);
  return m ? `${m[1]}@.${m[3]}` : null;
}
