// `gitfleet diff --from REV [--to REV] [--json] [--repo DIR | DIR]`: the impact preview of
// a change — every host rendered at both revisions, the hosts that change and
// how (docs/rollouts.md, "Impact preview"). Exit 0 with or without changes, so
// PR CI can run it and read the JSON.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCommandArgs, UsageError } from './args.ts';
import { isGitfleetError } from '../../shared/errors.ts';
import { terminalJson, terminalText } from '../../shared/terminal-text.ts';
import { formatIssue } from '../tree/index.ts';
import { computeImpact } from '../impact/compute-impact.ts';
import { impactText } from '../impact/impact-text.ts';
import { renderTree } from '../impact/render-tree.ts';
import type { RenderedTree } from '../impact/render-tree.ts';
import type { Impact } from '../impact/types.ts';
import type { FleetCheckout } from '../impact/revision-tree.ts';
import { advanceTree, exportTree, locateCheckout, resolveCommit, treeChanges } from '../impact/revision-tree.ts';

const usage = `usage: gitfleet diff --from REV [--to REV] [--json] [--repo DIR | DIR]

Renders every host of the fleet tree in DIR (a directory of a Git checkout,
default: the current directory) at both revisions and lists the hosts that
change: each resource added, changed (with the fields that differ) or removed,
and counts per tag. Reads the revisions from Git; the work tree is not touched.
Encrypted values are never decrypted: they show as «secret».

      --from REV  the revision before the change (a commit, branch or tag)
      --to REV    the revision after the change (default: HEAD)
      --json      print the impact as JSON (schema: docs/rollouts.md)
      --repo DIR  the fleet tree (a positional DIR is the same)

exit codes: 0 ok (with or without changes), 1 the tree does not render at
either revision (each error with file:line), 2 usage error or unknown revision
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'diff',
    argv,
    {
      from: { type: 'string' },
      to: { type: 'string', default: 'HEAD' },
      json: { type: 'boolean', default: false },
      repo: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    1,
  );
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.from === undefined || values.from === '') throw new UsageError('diff', '--from is required (the revision before the change); see gitfleet diff --help');
  if (values.repo !== undefined && positionals.length > 0) throw new UsageError('diff', '--repo and a directory argument are the same thing; give one');
  const dir = resolve(values.repo ?? positionals[0] ?? '.');
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) throw new UsageError('diff', `${dir} is not a directory`);
  const checkout = await locateCheckout(dir);
  if (!checkout) throw new UsageError('diff', `${dir} is not inside a Git checkout`);
  const from = await resolveCommit(checkout, values.from);
  if (from === null) throw new UsageError('diff', `--from ${terminalText(values.from)} is not a commit of ${checkout.top}`);
  const to = await resolveCommit(checkout, values.to);
  if (to === null) throw new UsageError('diff', `--to ${terminalText(values.to)} is not a commit of ${checkout.top}`);
  let impact: Impact;

  // One export: `from` is rendered, then patched into `to` with only the changed files written.
  const changes = await treeChanges(checkout, from, to);
  let exported;
  try {
    exported = await exportTree(checkout, from);
  } catch (error) {
    return exportFailed(error, 'from', from);
  }
  try {
    const before = await renderAt(checkout, exported.dir, from, 'from');
    if (!before) return 1;
    try {
      await advanceTree(checkout, exported.dir, to, changes);
    } catch (error) {
      return exportFailed(error, 'to', to);
    }
    const after = await renderAt(checkout, exported.dir, to, 'to');
    if (!after) return 1;
    impact = await computeImpact({ from: { revision: from, tree: before }, to: { revision: to, tree: after }, changedFiles: new Set(changes.map((c) => c.path)) });
  } finally {
    await exported.remove();
  }
  process.stdout.write(values.json ? `${terminalJson(impact, 2)}\n` : impactText(impact));
  return 0;
}

function exportFailed(error: unknown, side: 'from' | 'to', commit: string): number {
  if (!isGitfleetError(error)) throw error;
  process.stderr.write(`gitfleet diff: --${side} ${commit.slice(0, 12)}: ${terminalText(error.message)} [${error.code}]\n`);
  return 1;
}

/** The rendered tree, or null after printing its errors with file:line (repo-relative). */
async function renderAt(checkout: FleetCheckout, dir: string, commit: string, side: 'from' | 'to'): Promise<RenderedTree | null> {
  const tree = await renderTree(dir);
  if (tree.issues.length === 0) return tree;
  for (const i of tree.issues) process.stderr.write(`${terminalText(formatIssue({ ...i, file: `${checkout.prefix}${i.file}` }))}\n`);
  process.stderr.write(`gitfleet diff: the fleet tree does not render at --${side} ${commit.slice(0, 12)}: ${tree.issues.length} error(s)\n`);
  return null;
}
