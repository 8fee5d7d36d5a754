// `gitfleet plan`: what a reconcile would change on this host, as a readable
// diff. Reads the source and observes the host; changes nothing.
import { isGitfleetError, messageOf } from '../../shared/errors.ts';
import { createAgent } from '../main.ts';
import { createLogger } from '../logger.ts';
import { observe } from '../engine/observe.ts';
import { admitDesiredState } from '../admission.ts';
import { plan } from '../engine/planner.ts';
import { bold, dim, formatStatuses, formatSteps } from './format.ts';
import { agentOptionHelp, configFromArgs, parseAgentArgs } from './options.ts';

const help = `usage: gitfleet plan [options]

Shows what the next reconcile would do on this host — the first pass of
steps, each marked + (from Git), ~ (drift correction) or - (prune) — and every
resource's sync state with field diffs. Changes nothing.

${agentOptionHelp}

exit codes: 0 nothing to change; 1 changes pending, the head would be refused (the reason is
printed on stdout) or the source cannot be reached; 2 usage or configuration error`;

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
  let snapshot;
  try {
    snapshot = await agent.source.sync({ lastApplied: revisions.lastApplied });
  } catch (error) {
    // A head refused by the source (signature, ancestry) is an answer, like a refused tree; an outage is an error.
    if (!isGitfleetError(error) || error.retryable) throw error;
    process.stdout.write(`${bold(`plan for ${config.host}`)}: the head would be refused: ${messageOf(error)} [${error.code}]\n`);
    return 1;
  }
  let desired;
  try {
    desired = await agent.load(snapshot.treeDir);
    admitDesiredState(desired, config.files.allow); // the same admission rules as a real reconcile
  } catch (error) {
    process.stdout.write(`${bold(`plan for ${config.host}`)}: revision ${snapshot.revision.slice(0, 12)} would be refused: ${messageOf(error)}${isGitfleetError(error) ? ` [${error.code}]` : ''}\n`);
    return 1;
  }
  const inventory = await agent.store.loadInventory();
  const live = await observe(agent.drivers, desired, inventory);
  const result = plan(desired, live, inventory, { revision: snapshot.revision, suppressed: new Map(), defaultStopTimeout: 10 });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ host: desired.host, revision: snapshot.revision, tags: desired.tags, steps: result.steps, resources: result.statuses, unavailable: live.unavailable }, null, 2)}\n`);
  } else {
    const out = [`${bold(`plan for ${desired.host}`)} at ${snapshot.revision.slice(0, 12)} ${dim(`(${agent.source.description})`)}`];
    for (const [kind, reason] of Object.entries(live.unavailable)) out.push(`  ! cannot observe ${kind}s: ${reason}`);
    const notInSync = result.statuses.filter((s) => s.sync !== 'InSync').length;
    if (result.steps.length > 0) out.push(`\n${result.steps.length} step(s) in the first pass:`);
    else if (notInSync === 0) out.push('\nno changes: the host matches the desired state');
    else out.push(`\nno changes would be made; ${notInSync} resource(s) differ but are reported, ignored or waiting (see below)`);
    out.push(...formatSteps(result.steps));
    out.push('', 'resources:', ...formatStatuses(result.statuses));
    process.stdout.write(`${out.join('\n')}\n`);
  }
  return result.steps.length === 0 ? 0 : 1;
}
