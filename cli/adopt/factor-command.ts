// `gitfleet adopt --factor FLEET_DIR [--write]`: prints the factoring plan
// (factor.ts), and with --write applies it — only after applying it to a
// copy of the tree and checking that every host renders exactly as before.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainDesiredState, formatIssue, validateTree, type DeclaredHost } from '../../repo/tree/index.ts';
import { terminalText } from '../../shared/terminal-text.ts';
import { applyFactor, planFactor, type FactorMove } from './factor.ts';

/** What a host gets, without where it came from (the point of factoring is to change that). */
export async function renderedHosts(tree: string, hosts: DeclaredHost[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const h of hosts) {
    const { state } = await explainDesiredState(tree, { host: h.id });
    const resources = state.resources.map(({ source: _source, ...rest }) => rest);
    out.set(h.id, JSON.stringify({ vars: state.vars, tags: state.tags, resources }));
  }
  return out;
}

/** Hosts whose rendering differs between two trees. */
export async function renderDifferences(before: string, after: string, hosts: DeclaredHost[]): Promise<string[]> {
  const [a, b] = await Promise.all([renderedHosts(before, hosts), renderedHosts(after, hosts)]);
  return hosts.map((h) => h.id).filter((id) => a.get(id) !== b.get(id));
}

export async function runFactor(tree: string, write: boolean, json: boolean): Promise<number> {
  const summary = await validateTree(tree);
  if (summary.issues.length > 0) {
    for (const i of summary.issues) process.stderr.write(`${formatIssue(i)}\n`);
    process.stderr.write(`gitfleet adopt --factor: the tree has ${summary.issues.length} error(s); fix them first\n`);
    return 1;
  }
  const moves = planFactor(tree, summary.hosts);
  const copy = mkdtempSync(join(tmpdir(), 'gitfleet-factor-'));
  let differing: string[];
  try {
    cpSync(tree, copy, { recursive: true, filter: (src) => !src.endsWith('/.git') });
    applyFactor(copy, moves);
    differing = await renderDifferences(tree, copy, summary.hosts);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
  if (json) process.stdout.write(JSON.stringify({ moves, written: write && differing.length === 0 && moves.length > 0, renderChanged: differing }, null, 2) + '\n');
  else printPlan(moves);
  if (differing.length > 0) {
    process.stderr.write(`gitfleet adopt --factor: the plan would change what ${differing.slice(0, 10).map((h) => terminalText(h)).join(', ')} render(s); nothing written (please report this case)\n`);
    return 1;
  }
  if (write && moves.length > 0) {
    applyFactor(tree, moves);
    if (!json) process.stdout.write(`applied: ${moves.length} resource(s) moved; every host renders as before\n`);
  } else if (!json && moves.length > 0) process.stdout.write('(plan only: --write applies it)\n');
  return 0;
}

function printPlan(moves: FactorMove[]): void {
  if (moves.length === 0) {
    process.stdout.write('nothing to factor: no resource is declared identically by every host under a tag directory\n');
    return;
  }
  for (const m of moves) {
    process.stdout.write(`move ${terminalText(m.resource)} → ${terminalText(m.to)}/${terminalText(m.file)}  (from ${m.from.length} hosts: ${m.from.map((f) => terminalText(f)).join(', ')})\n`);
  }
  process.stdout.write(`${moves.length} resource(s) to move\n`);
}
