// Real Git servers on loopback for tests and benchmarks, plus a small work
// repository helper for making (signed) commits and pushing them.
//   - git daemon (git://), no auth
//   - smart HTTP: a Node HTTP server running git-http-backend as CGI, with
//     Basic auth and a byte counter (what a poll really costs on the wire)
//   - sshd on 127.x.y.z:22 with its own config and host key; the deploy key's
//     authorized_keys entry is forced to git-shell
// Every server can be stopped and started again on the same port.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const gitCore = '/usr/lib/git-core';

/** Why a server cannot run here, or null when it can. */
export function missingGitServer(kind: 'daemon' | 'http' | 'ssh' | 'ssh-keygen' | 'gpg'): string | null {
  const need: Record<typeof kind, string[]> = {
    daemon: [`${gitCore}/git-daemon`],
    http: [`${gitCore}/git-http-backend`],
    ssh: ['/usr/sbin/sshd', '/usr/bin/ssh', '/usr/bin/ssh-keygen', '/usr/bin/git-shell'],
    'ssh-keygen': ['/usr/bin/ssh-keygen'],
    gpg: ['/usr/bin/gpg', '/usr/bin/gpgconf'],
  };
  for (const file of need[kind]) if (!existsSync(file)) return `${file} is missing (apt: git, openssh-server, gnupg)`;
  if (kind === 'ssh' && process.getuid?.() !== 0) return 'sshd on port 22 of a loopback address needs root';
  return null;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `gitfleet-${prefix}-`));
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForPort(host: string, port: number, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before listening on ${host}:${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s: Socket = connect({ host, port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess | null): Promise<void> {
  if (child === null || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

export interface GitServer {
  /** The URL of repository `name` (a path under the server's root). */
  url(name: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- git daemon

export class GitDaemon implements GitServer {
  readonly root: string;
  port = 0;
  #child: ChildProcess | null = null;

  constructor(root: string) {
    this.root = root;
  }

  url(name: string): string {
    return `git://127.0.0.1:${this.port}/${name}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    this.#child = spawn('git', ['daemon', `--base-path=${this.root}`, '--export-all', '--reuseaddr', '--listen=127.0.0.1', `--port=${this.port}`, this.root], { stdio: 'ignore' });
    await waitForPort('127.0.0.1', this.port, this.#child);
  }

  async stop(): Promise<void> {
    await stopChild(this.#child);
    this.#child = null;
  }
}

// ---------------------------------------------------------------- smart HTTP

export interface HttpGitServerOptions {
  root: string;
  /** user → password; empty or absent = no auth. */
  users?: Record<string, string>;
}

export class HttpGitServer implements GitServer {
  readonly root: string;
  port = 0;
  readonly #users: Record<string, string>;
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  #closedBytes = 0;
  /** Requests seen (method + path), for assertions about what a poll did. */
  readonly requests: string[] = [];

  constructor(options: HttpGitServerOptions) {
    this.root = options.root;
    this.#users = options.users ?? {};
  }

  url(name: string): string {
    return `http://127.0.0.1:${this.port}/${name}`;
  }

  /** Bytes read plus written on every connection since start (or the last reset). */
  bytesTransferred(): number {
    let live = 0;
    for (const s of this.#sockets) live += s.bytesRead + s.bytesWritten;
    return this.#closedBytes + live;
  }

  resetCounters(): void {
    this.#closedBytes = 0;
    for (const s of this.#sockets) this.#closedBytes -= s.bytesRead + s.bytesWritten;
    this.requests.length = 0;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const server = createServer((req, res) => this.#handle(req, res));
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => {
        this.#closedBytes += socket.bytesRead + socket.bytesWritten;
        this.#sockets.delete(socket);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #authorized(req: IncomingMessage): boolean {
    if (Object.keys(this.#users).length === 0) return true;
    const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    return Object.hasOwn(this.#users, user) && this.#users[user] === decoded.slice(colon + 1);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (!this.#authorized(req)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="gitfleet-test"' }).end('unauthorized\n');
      req.resume();
      return;
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_PROJECT_ROOT: this.root,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REMOTE_USER: 'test',
    };
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
    if (req.headers['content-length']) env.CONTENT_LENGTH = String(req.headers['content-length']);
    const cgi = spawn(`${gitCore}/git-http-backend`, [], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    req.pipe(cgi.stdin);
    cgi.stdin.on('error', () => undefined);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) { res.write(chunk); return; }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
      if (end < 0) return;
      const sepLen = head[end] === 13 ? 4 : 2;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      headersDone = true;
      res.write(head.subarray(end + sepLen));
    });
    cgi.on('close', () => {
      if (!headersDone) res.writeHead(500).end('cgi failed\n');
      else res.end();
    });
    res.on('close', () => { if (cgi.exitCode === null) cgi.kill(); });
  }
}

// ---------------------------------------------------------------- sshd

export interface SshServerOptions {
  /** The deploy key's public half (one line, "ssh-ed25519 AAAA… comment"). */
  authorizedKey: string;
}

/** sshd on port 22 of a random 127.x.y.z address, so scp-style URLs (which cannot name a port) work too. */
export class SshGitServer implements GitServer {
  readonly dir: string;
  readonly host: string;
  readonly port = 22;
  /** A known_hosts file that pins this server's host key. */
  readonly knownHostsFile: string;
  readonly hostPublicKey: string;
  #child: ChildProcess | null = null;
  readonly #config: string;

  constructor(options: SshServerOptions) {
    this.dir = tempDir('sshd');
    const b = () => 1 + Math.floor(Math.random() * 250);
    this.host = `127.${b()}.${b()}.${b()}`;
    const hostKey = join(this.dir, 'host_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gitfleet-test-host', '-f', hostKey]);
    this.hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim();
    this.knownHostsFile = join(this.dir, 'known_hosts');
    writeFileSync(this.knownHostsFile, `${this.host} ${this.hostPublicKey}\n`);
    const authorized = join(this.dir, 'authorized_keys');
    writeFileSync(authorized, `command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"",restrict ${options.authorizedKey.trim()}\n`);
    chmodSync(authorized, 0o600);
    this.#config = join(this.dir, 'sshd_config');
    writeFileSync(this.#config, [
      'Port 22', `ListenAddress ${this.host}`, `HostKey ${hostKey}`, `PidFile ${join(this.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorized}`, 'StrictModes no', 'UsePAM no', 'PasswordAuthentication no',
      'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes', 'PermitRootLogin prohibit-password',
      `AllowUsers ${userName()}`, 'LogLevel ERROR', 'MaxStartups 50', '',
    ].join('\n'));
  }

  url(path: string): string {
    return `ssh://${userName()}@${this.host}${path.startsWith('/') ? '' : '/'}${path}`;
  }

  scpUrl(path: string): string {
    return `${userName()}@${this.host}:${path}`;
  }

  async start(): Promise<void> {
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    this.#child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', this.#config], { stdio: 'ignore' });
    await waitForPort(this.host, this.port, this.#child);
  }

  async stop(): Promise<void> {
    await stopChild(this.#child);
    this.#child = null;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function userName(): string {
  return process.env.USER ?? (process.getuid?.() === 0 ? 'root' : 'nobody');
}

// ---------------------------------------------------------------- keys and commits

export function makeSshKey(dir: string, name: string): { privateKey: string; publicKey: string } {
  const privateKey = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', privateKey]);
  chmodSync(privateKey, 0o600);
  return { privateKey, publicKey: readFileSync(`${privateKey}.pub`, 'utf8').trim() };
}

/** A throwaway OpenPGP signing key in its own GNUPGHOME; `exportTo` writes its public key (binary keyring). */
export function makeGpgKey(dir: string, name: string): { home: string; fingerprint: string; exportTo(file: string): void; dispose(): void } {
  const home = join(dir, `gnupg-${name}`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', `${name} <${name}@example.test>`, 'ed25519', 'sign', 'never'], { env, stdio: 'ignore' });
  const colons = execFileSync('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env, encoding: 'utf8' });
  const fingerprint = /^fpr:+([0-9A-F]{40,64}):/m.exec(colons)?.[1];
  if (!fingerprint) throw new Error('no fingerprint for the generated key');
  return {
    home,
    fingerprint,
    exportTo: (file) => writeFileSync(file, execFileSync('gpg', ['--batch', '--export', fingerprint], { env })),
    dispose: () => { try { execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env, stdio: 'ignore' }); } catch { /* not running */ } },
  };
}

export type Signer = { ssh: string } | { gpg: { home: string; fingerprint: string } };

/** A working repository whose commits are pushed to a bare repository served by the servers above. */
export class WorkRepo {
  readonly dir: string;
  readonly bare: string;

  /** Creates `bare` (a bare repository) and a working clone next to it. */
  constructor(bare: string) {
    this.bare = bare;
    this.dir = tempDir('work');
    execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], { env: gitEnv() });
    execFileSync('git', ['init', '--quiet', '--initial-branch=main', this.dir], { env: gitEnv() });
  }

  git(args: string[], extraEnv: Record<string, string> = {}): string {
    return execFileSync('git', ['-C', this.dir, ...args], { env: { ...gitEnv(), ...extraEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }

  /** Writes (or with null deletes) files, commits them, returns the commit id. */
  commit(files: Record<string, string | null>, message: string, signer?: Signer): string {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.dir, path);
      if (content === null) rmSync(full, { force: true });
      else {
        mkdirSync(join(full, '..'), { recursive: true });
        writeFileSync(full, content);
      }
    }
    this.git(['add', '--all']);
    const sign: string[] = [];
    let env: Record<string, string> = {};
    if (signer && 'ssh' in signer) sign.push('-c', 'gpg.format=ssh', '-c', `user.signingkey=${signer.ssh}`);
    if (signer && 'gpg' in signer) {
      sign.push('-c', `user.signingkey=${signer.gpg.fingerprint}`);
      env = { GNUPGHOME: signer.gpg.home };
    }
    this.git([...sign, 'commit', '--quiet', '--allow-empty', ...(signer ? ['-S'] : []), '-m', message], env);
    return this.git(['rev-parse', 'HEAD']);
  }

  push(ref = 'main', options: { force?: boolean } = {}): void {
    this.git(['push', '--quiet', ...(options.force ? ['--force'] : []), this.bare, `${ref}:${ref}`]);
  }

  pushTag(tag: string): void {
    this.git(['push', '--quiet', this.bare, `refs/tags/${tag}`]);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function gitEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Fleet Admin',
    GIT_AUTHOR_EMAIL: 'admin@example.test',
    GIT_COMMITTER_NAME: 'Fleet Admin',
    GIT_COMMITTER_EMAIL: 'admin@example.test',
  };
}
