// The systemd unit driver's public surface.
export { createSystemctlUnitDriver, type SystemctlUnitDriverOptions } from './systemctl-unit-driver.ts';
export { runLocalCommand, type CommandResult, type CommandRunner } from './command-runner.ts';
export { assertUnitName, isValidUnitName } from './unit-names.ts';
