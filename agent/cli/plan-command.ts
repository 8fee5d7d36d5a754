// `gitfleet plan`: what the agent would do on this host, as a readable diff,
// with the same decisions the daemon makes: a head refused before (and not
// retried), a head waiting for its retry, a commit that fails evaluation or
// admission, the empty-state guard, a driver that cannot observe. Reads the
// source and observes the host; changes nothing.
import { processSecrets } from '../../shared/secrets/mask.ts';
import { isGitfleetError, messageOf } from '../../shared/errors.ts';
import { terminalText } from '../../shared/terminal-text.ts';
import { createAgent } from '../main.ts';
import { createLogger } from '../logger.ts';
import { observe } from '../engine/observe.ts';
import { plan } from '../engine/planner.ts';
import type { Step } from '../engine/steps.ts';
import { decide } from '../loop/retry-policy.ts';
import { bold, dim, formatStatuses, formatSteps, red } from './format.ts';
import { agentOptionHelp, configFromArgs, parseAgentArgs } from './options.ts';
import { countPlan, planExit, summaryLine, type PlanCounts } from './plan-summary.ts';

const help = `usage: gitfleet plan [options]

Shows what the agent would do on this host at the source's head: the steps of
its first pass, each marked + (from Git), ~ (drift correction) or - (prune),
then those of later passes (resources waiting for their dependencies, a pruned
unit's file after it is stopped),
every resource's sync state with field diffs, and a summary line
  Plan: N create, M change, K correct drift, P prune[; head X refused: cause]
A head the agent would not apply is named with its cause: refused before for
its commit (and not retried until the head or the config changes), waiting for
its retry after failing on the host, invalid, not admitted, or removing every
managed resource (the empty-state guard). Changes nothing.

${agentOptionHelp}

exit codes: 0 nothing to change; 2 changes pending; 1 the head would be refused or not retried
(the cause is printed on stdout), a resource kind cannot be observed, or the source cannot be
read; 2 also for a usage or configuration error (one line on stderr)`;

interface Refusal {
  revision: string | null;
  code: string;
  cause: string;
}

/**
 * What a reconcile does after its first pass, as far as it follows from the
 * first: the steps of resources held back until their dependencies are
 * ready (planned as if they were), and the file deletion that follows a
 * pruned unit's stop/disable.
 */
function laterPasses(first: ReturnType<typeof plan>, ungated: ReturnType<typeof plan>): Step[] {
  const waiting = new Set<string>(first.waiting);
  const later: Step[] = ungated.steps.filter((s) => s.resource !== null && waiting.has(s.resource));
  const deleted = new Set(first.steps.filter((s) => s.type === 'unit.delete').map((s) => s.resource));
  for (const s of first.steps) {
    if (s.cause !== 'prune' || (s.type !== 'unit.stop' && s.type !== 'unit.disable') || deleted.has(s.resource)) continue;
    deleted.add(s.resource);
    later.push({ type: 'unit.delete', args: { name: s.args.name }, resource: s.resource, cause: 'prune', reason: 'no longer declared (after it is stopped and disabled)' });
  }
  return later;
}

const zero: PlanCounts = { create: 0, change: 0, drift: 0, prune: 0 };

function printRefusal(host: string, refusal: Refusal, json: boolean, extra: string[] = []): number {
  if (json) {
    process.stdout.write(`${JSON.stringify({ host, refused: refusal, summary: zero, steps: [], exitCode: planExit.error }, null, 2)}\n`);
  } else {
    const lines = [`${bold(`plan for ${host}`)}: ${red(`head ${(refusal.revision ?? 'unknown').slice(0, 12)} would not be applied`)}`, `  ${terminalText(refusal.cause)} [${refusal.code}]`, ...extra];
    lines.push('', summaryLine(zero, { revision: refusal.revision, cause: `${terminalText(refusal.cause)} [${refusal.code}]` }));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return planExit.error;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseAgentArgs('plan', argv, {});
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const config = await configFromArgs(values);
  const logger = createLogger({ level: 'warn', toStderr: true });
  const agent = await createAgent(config, logger);
  const revisions = await agent.store.loadRevisions();
  const inventory = await agent.store.loadInventory();
  const keeps = `  the agent keeps the host at ${revisions.lastApplied ? revisions.lastApplied.slice(0, 12) : 'nothing applied yet'}`;
  let snapshot;
  try {
    snapshot = await agent.source.sync({ lastApplied: revisions.lastApplied });
  } catch (error) {
    // A head refused by the source (signature, ancestry) is an answer; an outage means the plan cannot be made.
    if (isGitfleetError(error) && !error.retryable) {
      const revision = (error as { revision?: unknown }).revision;
      return printRefusal(config.host, { revision: typeof revision === 'string' ? revision : null, code: error.code, cause: messageOf(error) }, values.json, [keeps]);
    }
    process.stderr.write(`gitfleet plan: cannot read the source: ${messageOf(error)}${isGitfleetError(error) ? ` [${error.code}]` : ''}\n`);
    return planExit.error;
  }
  const head = snapshot.revision;
  // The daemon's own decision about a head that failed before (agent/loop/retry-policy.ts), for a poll.
  const rejection = revisions.rejected;
  const decision = decide(rejection, head, 'poll', agent.acceptanceKey(), Date.now());
  if (decision === 'refused' && rejection) {
    return printRefusal(config.host, { revision: head, code: rejection.code ?? 'REFUSED', cause: rejection.reason }, values.json, [
      keeps,
      '  it is not retried until the head or the agent configuration changes; gitfleet agent --once retries it now',
    ]);
  }
  if (decision === 'waiting' && rejection) {
    const at = rejection.nextRetryAt ? new Date(rejection.nextRetryAt).toISOString() : 'later';
    return printRefusal(config.host, { revision: head, code: rejection.code ?? 'FAILED', cause: `failed on the host: ${rejection.reason}` }, values.json, [
      keeps,
      `  the agent retries it at ${at}; gitfleet agent --once retries it now`,
    ]);
  }
  let desired;
  try {
    desired = await agent.load(snapshot.treeDir);
    // The same admission as a real reconcile: the host policy (with files.allow).
    await agent.policy.admit(desired, snapshot.treeDir);
  } catch (error) {
    return printRefusal(config.host, { revision: head, code: isGitfleetError(error) ? error.code : 'INVALID', cause: messageOf(error) }, values.json, [keeps]);
  }
  const managed = Object.keys(inventory.resources).length;
  if (desired.resources.length === 0 && managed > 0 && !desired.allowEmpty) {
    return printRefusal(
      config.host,
      { revision: head, code: 'EMPTY_STATE_REFUSED', cause: `revision ${head.slice(0, 12)} would remove all ${managed} managed resources; set "allowEmpty: true" in host.yaml to allow it` },
      values.json,
      [keeps],
    );
  }
  const live = await observe(agent.drivers, desired, inventory);
  const ctx = { revision: head, suppressed: new Map(), defaultStopTimeout: 10, adopt: config.adopt || desired.adopt === true };
  const result = plan(desired, live, inventory, ctx);
  const later = laterPasses(result, plan({ ...desired, resources: desired.resources.map((r) => ({ ...r, dependsOn: [] })) }, live, inventory, ctx));
  const pendingAdoptions = [...result.adoptions].filter(([, a]) => a.pending).map(([id]) => id);
  // Adoption changes nothing on the host: counted apart, and alone it is "nothing to change" (exit 0).
  const counts = { ...countPlan([...result.steps, ...later], inventory), ...(pendingAdoptions.length > 0 ? { adopt: pendingAdoptions.length } : {}) };
  const unobserved = Object.entries(live.unavailable);
  const exitCode = unobserved.length > 0 ? planExit.error : result.steps.length + later.length > 0 ? planExit.changes : planExit.nothing;
  if (values.json) {
    process.stdout.write(
      // Steps carry specs (file content, env): decrypted values are masked (docs/secrets.md).
      // Masked in the data, not the text: JSON escapes would hide a multi-line secret from a text match.
      `${JSON.stringify(processSecrets.maskDeep({ host: desired.host, revision: head, tags: desired.tags, summary: counts, refused: null, steps: result.steps, laterSteps: later, resources: result.statuses, unavailable: live.unavailable, exitCode }), null, 2)}\n`,
    );
    return exitCode;
  }
  const out = [`${bold(`plan for ${desired.host}`)} at ${head.slice(0, 12)} ${dim(`(${agent.source.description})`)}`];
  for (const [kind, reason] of unobserved) out.push(`  ! cannot observe ${kind}s: ${reason} — the plan for them is unknown`);
  const notInSync = result.statuses.filter((s) => s.sync !== 'InSync').length;
  if (result.steps.length > 0) out.push(`\n${result.steps.length} step(s) in the first pass (a reconcile runs passes until nothing is left):`);
  else if (notInSync === 0 && unobserved.length === 0) out.push(`\nno changes: the host matches the desired state${pendingAdoptions.length > 0 ? ` (${pendingAdoptions.length} resource(s) are taken over as they are: ${terminalText(pendingAdoptions.join(', '))})` : ''}`);
  else if (notInSync > 0) out.push(`\nno changes would be made; ${notInSync} resource(s) differ but are reported, ignored or waiting (see below)`);
  out.push(...formatSteps(result.steps));
  if (later.length > 0) out.push(`then in later passes (${later.length} step(s), once what they wait for is done):`, ...formatSteps(later));
  out.push('', 'resources:', ...formatStatuses(result.statuses));
  out.push('', unobserved.length > 0 ? `${summaryLine(counts, null)}; incomplete: cannot observe ${unobserved.map(([k]) => `${k}s`).join(', ')}` : summaryLine(counts, null));
  process.stdout.write(`${processSecrets.mask(out.join('\n'))}\n`);
  return exitCode;
}
