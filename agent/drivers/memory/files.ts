// An in-memory FileDriver with the real one's semantics: the same path checks
// (INVALID_PATH, PATH_NOT_ALLOWED), UNSAFE_PATH for a symlink or a file
// anywhere in the path, parents created 0755, new files 0644 owned by root,
// unnamed attributes kept, owner/group names from the host's account lists.
// test/contract/files.test.ts runs one suite against this and the real driver.
//
// `hand` makes the changes an operator would make on the host (edit, chmod,
// plant a symlink), and `calls` logs mutating calls so a test can assert that
// a pass touched nothing.
import { posix } from 'node:path';
import { GitfleetError } from '../../../shared/errors.ts';
import type { FileSpec } from '../../../shared/resources.ts';
import type { FileDriver, LiveFile } from '../types.ts';
import { checkAllowList, checkFilePath, pathComponents } from '../files/file-paths.ts';
import { DEFAULT_DIR_MODE, DEFAULT_FILE_MODE, formatMode, parseMode } from '../files/file-modes.ts';
import { accountDb, type AccountDb } from '../files/host-accounts.ts';

type Node =
  | { type: 'dir'; mode: number; uid: number; gid: number }
  | { type: 'file'; content: string; mode: number; uid: number; gid: number }
  | { type: 'symlink'; target: string };

export interface MemoryFileDriverOptions {
  allow: string[];
  /** The host's users and groups; default: a Debian base system's first few. */
  users?: { name: string; id: number }[];
  groups?: { name: string; id: number }[];
}

const debianUsers = [
  { name: 'root', id: 0 },
  { name: 'daemon', id: 1 },
  { name: 'bin', id: 2 },
  { name: 'www-data', id: 33 },
  { name: 'nobody', id: 65534 },
];
const debianGroups = [
  { name: 'root', id: 0 },
  { name: 'daemon', id: 1 },
  { name: 'bin', id: 2 },
  { name: 'adm', id: 4 },
  { name: 'www-data', id: 33 },
  { name: 'nogroup', id: 65534 },
];

export class MemoryFileDriver implements FileDriver {
  readonly calls: string[] = [];
  private readonly nodes = new Map<string, Node>([['/', { type: 'dir', mode: 0o755, uid: 0, gid: 0 }]]);
  private readonly allow: string[];
  private readonly accounts: AccountDb;

  constructor(options: MemoryFileDriverOptions) {
    this.allow = checkAllowList(options.allow);
    this.accounts = accountDb(options.users ?? debianUsers, options.groups ?? debianGroups);
  }

  /** What an operator does on the host by hand; none of it is path-checked. */
  readonly hand = {
    /** Like an editor or `echo >`: an existing file keeps its mode and owner. */
    write: (path: string, content: string) => {
      this.mkdirs(posix.dirname(path));
      const old = this.nodes.get(path);
      if (old?.type === 'file') old.content = content;
      else this.nodes.set(path, { type: 'file', content, mode: DEFAULT_FILE_MODE, uid: 0, gid: 0 });
    },
    chmod: (path: string, mode: number) => {
      const node = this.nodes.get(path);
      if (!node || node.type === 'symlink') throw new Error(`hand.chmod: no file ${path}`);
      node.mode = mode;
    },
    chown: (path: string, uid: number, gid: number) => {
      const node = this.nodes.get(path);
      if (!node || node.type === 'symlink') throw new Error(`hand.chown: no file ${path}`);
      node.uid = uid;
      node.gid = gid;
    },
    symlink: (path: string, target: string) => {
      this.mkdirs(posix.dirname(path));
      this.nodes.set(path, { type: 'symlink', target });
    },
    mkdir: (path: string) => this.mkdirs(path),
    remove: (path: string) => {
      for (const key of [...this.nodes.keys()]) if (key === path || key.startsWith(`${path}/`)) this.nodes.delete(key);
    },
    exists: (path: string) => this.nodes.has(path),
    dirMode: (path: string) => {
      const node = this.nodes.get(path);
      if (node?.type !== 'dir') throw new Error(`hand.dirMode: no directory ${path}`);
      return formatMode(node.mode);
    },
    /** Entry names directly in `dir`, sorted. */
    list: (dir: string) =>
      [...this.nodes.keys()].filter((k) => k !== dir && posix.dirname(k) === dir).map((k) => posix.basename(k)).sort(),
  };

  private mkdirs(path: string): void {
    let prefix = '';
    for (const part of pathComponents(path)) {
      prefix += `/${part}`;
      if (!this.nodes.has(prefix)) this.nodes.set(prefix, { type: 'dir', mode: DEFAULT_DIR_MODE, uid: 0, gid: 0 });
    }
  }

  /** The same walk as the real driver's safe-walk.ts. */
  private walk(path: string, create: boolean): { parentExists: boolean; target: Extract<Node, { type: 'file' }> | null } {
    let prefix = '';
    const parts = pathComponents(path);
    for (const part of parts.slice(0, -1)) {
      prefix += `/${part}`;
      let node = this.nodes.get(prefix);
      if (!node) {
        if (!create) return { parentExists: false, target: null };
        node = { type: 'dir', mode: DEFAULT_DIR_MODE, uid: 0, gid: 0 };
        this.nodes.set(prefix, node);
      }
      if (node.type === 'symlink') throw new GitfleetError('UNSAFE_PATH', `refusing ${path}: ${prefix} is a symlink on the host`);
      if (node.type !== 'dir') throw new GitfleetError('UNSAFE_PATH', `refusing ${path}: ${prefix} is not a directory on the host`);
    }
    const target = this.nodes.get(path);
    if (target?.type === 'symlink') throw new GitfleetError('UNSAFE_PATH', `refusing ${path}: it is a symlink on the host`);
    if (target?.type === 'dir') throw new GitfleetError('FILE_FAILED', `${path} is a directory on the host, not a file`);
    return { parentExists: true, target: target ?? null };
  }

  private ids(path: string, spec: FileSpec): { uid: number | null; gid: number | null } {
    let uid: number | null = null;
    let gid: number | null = null;
    if (spec.owner !== undefined) {
      const id = this.accounts.uidOf(spec.owner);
      if (id === undefined) throw new GitfleetError('FILE_FAILED', `owner ${JSON.stringify(spec.owner)} of ${path} does not exist on this host`);
      uid = id;
    }
    if (spec.group !== undefined) {
      const id = this.accounts.gidOf(spec.group);
      if (id === undefined) throw new GitfleetError('FILE_FAILED', `group ${JSON.stringify(spec.group)} of ${path} does not exist on this host`);
      gid = id;
    }
    return { uid, gid };
  }

  async observe(paths: string[]): Promise<LiveFile[]> {
    await Promise.resolve();
    return paths.map((path) => {
      checkFilePath(path, this.allow);
      const { target } = this.walk(path, false);
      if (!target) return { path, exists: false, content: null, mode: null, owner: null, group: null };
      return {
        path,
        exists: true,
        content: target.content,
        mode: formatMode(target.mode),
        owner: this.accounts.userName(target.uid),
        group: this.accounts.groupName(target.gid),
        uid: target.uid,
        gid: target.gid,
      };
    });
  }

  async write(path: string, spec: FileSpec): Promise<void> {
    await Promise.resolve();
    checkFilePath(path, this.allow);
    const mode = spec.mode === undefined ? null : parseMode(spec.mode);
    const { uid, gid } = this.ids(path, spec);
    const { target } = this.walk(path, true);
    this.calls.push(`write ${path}`);
    this.nodes.set(path, {
      type: 'file',
      content: spec.content,
      mode: mode ?? target?.mode ?? DEFAULT_FILE_MODE,
      uid: uid ?? target?.uid ?? 0,
      gid: gid ?? target?.gid ?? 0,
    });
  }

  async setAttributes(path: string, spec: FileSpec): Promise<void> {
    await Promise.resolve();
    checkFilePath(path, this.allow);
    const mode = spec.mode === undefined ? null : parseMode(spec.mode);
    const { uid, gid } = this.ids(path, spec);
    const { target } = this.walk(path, false);
    if (!target) throw new GitfleetError('FILE_FAILED', `cannot set attributes of ${path}: it does not exist`);
    this.calls.push(`attributes ${path}`);
    if (mode !== null) target.mode = mode;
    if (uid !== null) target.uid = uid;
    if (gid !== null) target.gid = gid;
  }

  async remove(path: string): Promise<void> {
    await Promise.resolve();
    checkFilePath(path, this.allow);
    const { target } = this.walk(path, false);
    if (!target) return;
    this.calls.push(`remove ${path}`);
    this.nodes.delete(path);
  }
}
