// Which hosts could not decrypt which encrypted files, from a list of hosts'
// public keys (the output of `gitfleet secret recipients`), without any key:
// what `gitfleet validate --recipients FILE` reports, so a fleet repo's CI
// refuses a merge that some host would refuse (docs/secrets.md).
import { issue, wholeFile, type ValidationIssue } from '../tree/issues.ts';
import { CROSS_TAGS_DIR, listDir, openTree, readTreeFile, relJoin } from '../tree/tree-fs.ts';
import type { DeclaredHost } from '../tree/validate.ts';
import { isEncryptedLayerFile } from './encrypted-layer.ts';
import { parseSops } from './sops.ts';

/** "HOST RECIPIENT" lines; '#' comments and blank lines ignored; "(no key reported)" counts as no key. */
export function parseRecipientsList(text: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [host, recipient] = line.split(/\s+/, 2);
    out.set(host!, recipient !== undefined && /^age1[0-9a-z]+$/.test(recipient) ? recipient : null);
  }
  return out;
}

export async function recipientIssues(treeRoot: string, hosts: DeclaredHost[], keys: Map<string, string | null>): Promise<ValidationIssue[]> {
  const tree = await openTree(treeRoot);
  if (!tree) return [];
  const filesOf = new Map<string, Promise<string[]>>();
  const encryptedIn = (dir: string) => {
    let p = filesOf.get(dir);
    if (!p) {
      p = listDir(tree, dir).then((l) => l.yamlFiles.filter(isEncryptedLayerFile).map((n) => relJoin(dir, n)));
      filesOf.set(dir, p);
    }
    return p;
  };
  const recipientsOf = new Map<string, Promise<string[] | null>>();
  const readRecipients = (file: string) => {
    let p = recipientsOf.get(file);
    if (!p) {
      // A file that does not parse is reported by validate itself.
      p = readTreeFile(tree, file).then((r) => {
        if ('issue' in r) return null;
        try {
          return parseSops(file, r.text).meta.age.map((a) => a.recipient);
        } catch {
          return null;
        }
      });
      recipientsOf.set(file, p);
    }
    return p;
  };
  const denied = new Map<string, { noKey: string[]; notRecipient: string[] }>();
  for (const h of hosts) {
    // Only the hosts the list names: a CI may check one tag's hosts.
    if (!keys.has(h.id)) continue;
    const dirs = ['', ...h.pathTags, ...h.crossTags.map((t) => relJoin(CROSS_TAGS_DIR, t)), h.dir];
    const key = keys.get(h.id) ?? null;
    for (const dir of dirs) {
      for (const file of await encryptedIn(dir)) {
        const recipients = await readRecipients(file);
        if (recipients === null || (key !== null && recipients.includes(key))) continue;
        const d = denied.get(file) ?? { noKey: [], notRecipient: [] };
        (key === null ? d.noKey : d.notRecipient).push(h.id);
        denied.set(file, d);
      }
    }
  }
  const list = (ids: string[]) => `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}`;
  const out: ValidationIssue[] = [];
  for (const [file, d] of denied) {
    if (d.notRecipient.length > 0) out.push(issue(file, wholeFile, 'SECRET_NOT_RECIPIENT', `host(s) ${list(d.notRecipient)} need this file but their keys are not among its recipients; they would refuse the revision (gitfleet secret updatekeys --tag …)`));
    if (d.noKey.length > 0) out.push(issue(file, wholeFile, 'SECRET_NO_KEY', `host(s) ${list(d.noKey)} need this file but have no key in the recipients list; they would refuse the revision`));
  }
  return out;
}
