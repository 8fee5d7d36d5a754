// `gitfleet check`: a pre-flight for a host, like `flux check` — the agent
// config, the state directory, the Docker socket, systemd, the fleet
// repository (reachable, credentials, signature setup, this host in it) and
// the hub (URL, token). Each check is one line, ok / warn / FAIL with why;
// exit 1 when any failed. Reads only; changes nothing on the host.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { execFile } from 'node:child_process';
import { messageOf } from '../shared/errors.ts';
import { parseCommandArgs } from '../repo/cli/args.ts';

export const usage = `usage: gitfleet check [agent options]

Checks, in order: the agent configuration, the state directory, the Docker socket,
systemd, the fleet repository (reachable with the configured credentials, the head
verified when signatures are required, this host declared in it), and the hub URL
and token. One line per check; nothing is changed. Takes the options of gitfleet agent
(--config, --repo, --host, --state-dir, …).

exit codes: 0 every check passed (warnings allowed), 1 a check failed, 2 usage error`;

type Verdict = 'ok' | 'warn' | 'FAIL';
interface Check {
  name: string;
  verdict: Verdict;
  detail: string;
}

function dockerPing(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/version', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        try {
          resolve(String((JSON.parse(body) as { Version?: unknown }).Version ?? 'unknown'));
        } catch {
          reject(new Error(`answered ${res.statusCode ?? '?'} without a version`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

function systemctlVersion(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('systemctl', ['--version'], { timeout: 5000 }, (error, stdout) => (error ? reject(error) : resolve(stdout.split('\n')[0] ?? '')));
  });
}

export async function run(argv: string[]): Promise<number> {
  const { agentOptionSpec, configFromArgs } = await import('../agent/cli/options.ts');
  const { values } = parseCommandArgs('check', argv, agentOptionSpec);
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const checks: Check[] = [];
  const say = (c: Check) => {
    checks.push(c);
    process.stdout.write(`${c.verdict.padEnd(4)}  ${c.name.padEnd(12)}  ${c.detail}\n`);
  };
  let config;
  try {
    config = await configFromArgs(values);
    say({ name: 'config', verdict: 'ok', detail: `host ${config.host}, repo ${config.repo.replace(/\/\/[^@/]*@/, '//***@')} (${config.ref})` });
    say({ name: 'state dir', verdict: 'ok', detail: `${config.stateDir} is writable` });
  } catch (error) {
    say({ name: 'config', verdict: 'FAIL', detail: messageOf(error) });
    return 1;
  }
  try {
    say({ name: 'docker', verdict: 'ok', detail: `engine ${await dockerPing(config.docker.socket)} at ${config.docker.socket}` });
  } catch (error) {
    say({ name: 'docker', verdict: 'warn', detail: `cannot use ${config.docker.socket}: ${messageOf(error)} (needed only for containers)` });
  }
  try {
    await access(config.systemd.unitDir, constants.W_OK);
    say({ name: 'systemd', verdict: 'ok', detail: `${await systemctlVersion()}; ${config.systemd.unitDir} writable` });
  } catch (error) {
    say({ name: 'systemd', verdict: 'warn', detail: `${messageOf(error)} (needed only for units)` });
  }
  for (const [what, file] of [
    ['git token', config.git.tokenFile],
    ['git password', config.git.passwordFile],
    ['ssh key', config.git.sshKeyFile],
    ['known hosts', config.git.knownHostsFile],
    ['signers', config.verify?.allowedSigners],
    ['gpg keyring', config.verify?.gpgKeyring],
    ['hub token', config.tokenFile],
  ] as const) {
    if (file === undefined) continue;
    const info = await stat(file).catch((error: Error) => error);
    if (info instanceof Error) say({ name: what, verdict: 'FAIL', detail: `${file}: ${messageOf(info)}` });
    else if ((info.mode & 0o077) !== 0 && what !== 'signers' && what !== 'known hosts') say({ name: what, verdict: 'warn', detail: `${file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it` });
    else say({ name: what, verdict: 'ok', detail: file });
  }
  if (config.verify === undefined) say({ name: 'signatures', verdict: 'warn', detail: 'no verify.allowedSigners or verify.gpgKeyring: any commit of the repo is applied (docs/git.md)' });
  const { createLogger } = await import('../agent/logger.ts');
  const { createAgent } = await import('../agent/main.ts');
  const logger = createLogger({ level: 'silent', toStderr: true });
  try {
    // The agent's own source and evaluation (secrets, place), so the check reads the repo as the agent will.
    const agent = await createAgent(config, logger);
    const source = agent.source;
    const snapshot = await source.sync({ lastApplied: null });
    say({ name: 'repo', verdict: 'ok', detail: `head ${snapshot.revision.slice(0, 12)} read${config.verify ? ' and verified' : ''} from ${source.description}` });
    try {
      const desired = await agent.load(snapshot.treeDir);
      say({ name: 'this host', verdict: 'ok', detail: `${config.host} is declared (${desired.resources.length} resource(s), tags ${desired.tags.join(', ') || 'none'})` });
    } catch (error) {
      say({ name: 'this host', verdict: 'FAIL', detail: messageOf(error) });
    }
  } catch (error) {
    say({ name: 'repo', verdict: 'FAIL', detail: messageOf(error) });
  }
  if (config.hub === undefined) {
    say({ name: 'hub', verdict: 'warn', detail: 'no hub configured: the host reports to nobody' });
  } else {
    const url = new URL(config.hub);
    const base = `${url.protocol === 'wss:' ? 'https' : 'http'}://${url.host}`;
    if (!url.pathname.endsWith('/agent')) say({ name: 'hub', verdict: 'FAIL', detail: `${config.hub} does not end in /agent (the agents' endpoint is ${base.replace(/^http/, 'ws')}/agent)` });
    try {
      const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
      say({ name: 'hub', verdict: response.ok ? 'ok' : 'FAIL', detail: `${base}/healthz answered ${response.status}` });
    } catch (error) {
      say({ name: 'hub', verdict: 'FAIL', detail: `cannot reach ${base}: ${messageOf((error as { cause?: unknown }).cause ?? error)}` });
    }
    if (config.token === undefined && config.tokenFile === undefined) say({ name: 'hub token', verdict: 'warn', detail: 'no token or tokenFile: fine once enrolled (the credential is in the state dir), needed for a first enrollment' });
  }
  const failed = checks.filter((c) => c.verdict === 'FAIL').length;
  process.stdout.write(failed === 0 ? 'all checks passed\n' : `${failed} check(s) failed\n`);
  return failed === 0 ? 0 : 1;
}
