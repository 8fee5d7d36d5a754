// A private PostgreSQL cluster for a test file: Debian's server binaries
// (initdb, pg_ctl) into a temp directory, listening on a free loopback port
// with password (scram) authentication over TCP, its unix socket in the temp
// directory, stopped and removed by stop(). initdb refuses to run as root, so
// as root the cluster runs as the `postgres` system user (runuser).
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from './git-servers.ts';

const run = promisify(execFile);

export interface PostgresCluster {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Creates an empty database and returns its postgres:// URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** The newest installed server's bin directory, e.g. /usr/lib/postgresql/15/bin. */
function serverBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : null;
}

const asRoot = process.getuid?.() === 0;

/** Null when a private cluster can be started here, else why not. */
export function postgresMissing(): string | null {
  if (serverBin() === null) return 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)';
  if (asRoot) {
    if (!existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) return 'runuser is missing (needed to run initdb as the postgres user)';
    try {
      pgUser();
    } catch {
      return 'there is no postgres system user (installed with the postgresql package)';
    }
  }
  return null;
}

function pgUser(): { uid: number; gid: number } {
  // The postgresql package creates this user; read it from /etc/passwd rather than guessing ids.
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function command(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

/**
 * `fsync: true` keeps fsync and full-page writes (synchronous_commit stays off,
 * like SQLite's WAL with synchronous=NORMAL): for benchmarks that compare the
 * two stores; tests run without.
 */
export async function startPostgres(o: { fsync?: boolean; maxConnections?: number } = {}): Promise<PostgresCluster> {
  const bin = serverBin();
  if (bin === null) throw new Error(postgresMissing() ?? 'no PostgreSQL');
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (asRoot) {
    const { uid, gid } = pgUser();
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  const exec = async (tool: string, args: string[]) => {
    const [file, argv] = command(join(bin, tool), args);
    return run(file, argv, { timeout: 60_000 });
  };
  try {
    await exec('initdb', ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--no-sync', '--locale=C']);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      // A throwaway cluster: durability is not what these tests measure.
      ...(o.fsync ? [] : ['-c fsync=off', '-c full_page_writes=off']),
      '-c synchronous_commit=off',
      `-c shared_buffers=${o.fsync ? '128MB' : '16MB'}`,
      `-c max_connections=${o.maxConnections ?? 60}`,
    ].join(' ');
    try {
      await exec('pg_ctl', ['start', '-D', data, '-w', '-t', '30', '-l', join(dir, 'server.log'), '-o', options]);
      break;
    } catch (error) {
      // Another process may have taken the port between freePort() and the bind.
      if (attempt >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const host = '127.0.0.1';
  const admin = `postgres://postgres:${password}@${host}:${port}/postgres`;
  let counter = 0;
  return {
    host,
    port,
    user: 'postgres',
    password,
    async createDatabase(name) {
      const db = name ?? `gitfleet_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`not a plain database name: ${db}`);
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${db}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres:${password}@${host}:${port}/${db}`;
    },
    async stop() {
      try {
        await exec('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '30']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
