// Fleets of one host (lab/h1) in a scratch directory. oneHostFleet: for tests
// that run the CLI's agent commands against the real Docker engine (the fleet
// and the agent's state under the scratch directory, the arguments that point
// a command at them, and a Docker harness; both removed after the file's
// tests). motdFleet: one managed file, for tests that need no engine.
import { after } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerTestHarness } from './docker.ts';

export interface OneHostFleet {
  scratch: string;
  fleet: string;
  state: string;
  docker: DockerTestHarness;
  /** --repo, --host h1, --state-dir and --files-allow (the scratch directory). */
  hostArgs: string[];
  /** Writes lab/h1/containers.yaml. */
  writeContainers(yaml: string): void;
}

export function oneHostFleet(prefix: string): OneHostFleet {
  const scratch = mkdtempSync(join(tmpdir(), `gitfleet-${prefix}-`));
  const docker = new DockerTestHarness();
  after(async () => {
    await docker.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });
  const fleet = join(scratch, 'fleet');
  const state = join(scratch, 'state');
  mkdirSync(join(fleet, 'lab/h1'), { recursive: true });
  writeFileSync(join(fleet, 'lab/h1/host.yaml'), '{}\n');
  return {
    scratch,
    fleet,
    state,
    docker,
    hostArgs: ['--repo', fleet, '--host', 'h1', '--state-dir', state, '--files-allow', scratch],
    writeContainers: (yaml) => writeFileSync(join(fleet, 'lab/h1/containers.yaml'), yaml),
  };
}

/** lab/h1 in `scratch`/fleet managing one file, `scratch`/target/motd ("hello"): a fleet the agent converges with no engine. */
export function motdFleet(scratch: string): { fleet: string; target: string } {
  const fleet = join(scratch, 'fleet');
  const target = join(scratch, 'target');
  mkdirSync(join(fleet, 'lab/h1'), { recursive: true });
  mkdirSync(target);
  writeFileSync(join(fleet, 'lab/h1/host.yaml'), '{}\n');
  writeFileSync(join(fleet, 'lab/h1/files.yaml'), `files:\n  ${target}/motd:\n    content: "hello\\n"\n`);
  return { fleet, target };
}
