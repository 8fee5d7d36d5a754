// An in-memory UnitDriver that behaves like systemd as far as the agent can
// tell. What it models (checked against real systemd by
// test/contract/units.test.ts):
// - files on disk vs. the configuration systemd loaded: a unit is loaded on
//   first reference and re-read on daemon-reload; enable, disable and unmask
//   reload too (systemctl does); an inactive unit that is not enabled is
//   garbage-collected, so it is read afresh; NeedDaemonReload when disk and
//   loaded differ;
// - UnitFileState: enabled/disabled, `static` without an [Install] section,
//   `masked`, '' for a unit with no file;
// - running: ExecStart whose program is `false` fails (exit-code), anything
//   else runs; Type=oneshot fails the start job itself; Restart=always or
//   on-failure flaps: each observe advances one restart, up to the start
//   limit (5), then failed;
// - stop, disable and reset-failed of an unknown unit are no-ops; start,
//   restart and enable of one fail with SYSTEMD_FAILED;
// - templates (`app@.service`) never run; an instance (`app@1.service`) is
//   defined by its template's file; enabling a template needs DefaultInstance=.
//
// `hand` makes an operator's changes (edit a file, mask) and `calls` logs
// mutating calls, so a test can assert that a pass touched nothing.
import { GitfleetError } from '../../../shared/errors.ts';
import type { LiveUnit, UnitDriver } from '../types.ts';
import { assertDropinName, assertUnitName, isTemplateName, templateOf } from '../systemd/unit-names.ts';

type DiskEntry = { kind: 'file'; content: string } | { kind: 'mask' };

interface Loaded {
  /** null: not found. */
  entry: DiskEntry | null;
  dropins: Record<string, string>;
}

interface Runtime {
  activeState: string;
  subState: string;
  result: string;
  nRestarts: number;
  /** Auto-restarts still to come (a flapping unit). */
  flapping: boolean;
}

const START_LIMIT_BURST = 5;

/** The [Section] Key=value pairs of a unit file and its drop-ins (later wins, as in systemd). */
function directives(texts: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const text of texts) {
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith(';')) continue;
      const header = /^\[(.+)\]$/.exec(line);
      if (header) section = header[1]!;
      else if (line.includes('=')) out.set(`${section}.${line.slice(0, line.indexOf('=')).trim()}`, line.slice(line.indexOf('=') + 1).trim());
    }
  }
  return out;
}

function sameDropins(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a).sort();
  return ak.length === Object.keys(b).length && ak.every((k) => a[k] === b[k]);
}

export class MemoryUnitDriver implements UnitDriver {
  readonly calls: string[] = [];
  private readonly disk = new Map<string, DiskEntry>();
  private readonly diskDropins = new Map<string, Record<string, string>>();
  private readonly loaded = new Map<string, Loaded>();
  private readonly enabled = new Set<string>();
  private readonly runtime = new Map<string, Runtime>();

  /** What an operator does on the host by hand. */
  readonly hand = {
    /** Edits the unit file on disk (no daemon-reload). */
    edit: (name: string, content: string) => {
      this.disk.set(name, { kind: 'file', content });
    },
    /** `rm` the unit file, then `systemctl mask` (which reloads): a file in /etc cannot be masked otherwise. */
    mask: (name: string) => {
      this.disk.set(name, { kind: 'mask' });
      this.enabled.delete(name);
      this.reload();
    },
    /** The unit's main process dies with a failure (Restart= does not apply: a kill -9 by hand is modelled as final). */
    fail: (name: string) => {
      this.runtime.set(name, { ...this.state(name), activeState: 'failed', subState: 'failed', result: 'signal', flapping: false });
    },
  };

  private state(name: string): Runtime {
    return this.runtime.get(name) ?? { activeState: 'inactive', subState: 'dead', result: 'success', nRestarts: 0, flapping: false };
  }

  private reference(name: string): Loaded {
    let l = this.loaded.get(name);
    // systemd garbage-collects a unit nothing holds (inactive, not enabled):
    // the next reference loads the files afresh.
    if (l && this.state(name).activeState === 'inactive' && !this.enabled.has(name)) l = undefined;
    if (!l) {
      l = this.snapshot(name);
      if (l.entry !== null) this.loaded.set(name, l);
    }
    return l;
  }

  /** The file that defines `name`: its own, or for an instance its template's. */
  private fileOf(name: string): DiskEntry | undefined {
    const template = templateOf(name);
    return this.disk.get(name) ?? (template ? this.disk.get(template) : undefined);
  }

  private snapshot(name: string): Loaded {
    return { entry: this.fileOf(name) ?? null, dropins: { ...(this.diskDropins.get(name) ?? {}) } };
  }

  private reload(): void {
    for (const name of new Set([...this.loaded.keys(), ...this.disk.keys()])) {
      const snap = this.snapshot(name);
      const active = this.state(name).activeState !== 'inactive';
      // A unit whose file is gone stays known only while it still runs (or failed).
      if (snap.entry === null && !active) this.loaded.delete(name);
      else this.loaded.set(name, snap);
    }
  }

  private config(l: Loaded): Map<string, string> {
    return directives(l.entry?.kind === 'file' ? [l.entry.content, ...Object.keys(l.dropins).sort().map((k) => l.dropins[k]!)] : []);
  }

  private unitFileState(name: string): string {
    const entry = this.fileOf(name);
    if (!entry) return '';
    if (entry.kind === 'mask') return 'masked';
    const d = directives([entry.content]);
    const installable = ['WantedBy', 'RequiredBy', 'Alias', 'Also'].some((k) => d.has(`Install.${k}`));
    if (!installable) return 'static';
    return this.enabled.has(name) ? 'enabled' : 'disabled';
  }

  private loadState(l: Loaded): string {
    if (l.entry === null) return 'not-found';
    return l.entry.kind === 'mask' ? 'masked' : 'loaded';
  }

  /** One auto-restart of a flapping unit per observation: time, as far as a test can see it. */
  private advance(name: string): void {
    const s = this.runtime.get(name);
    if (!s?.flapping) return;
    s.nRestarts += 1;
    if (s.nRestarts >= START_LIMIT_BURST) {
      s.flapping = false;
      s.activeState = 'failed';
      s.subState = 'failed';
    }
  }

  private mustBeStartable(name: string): Loaded {
    if (isTemplateName(name)) throw new GitfleetError('SYSTEMD_FAILED', `systemctl start -- ${name} failed (exit 1): Failed to start ${name}: Unit name ${name} is missing the instance name.`);
    const l = this.reference(name);
    if (l.entry === null) throw new GitfleetError('SYSTEMD_FAILED', `systemctl start -- ${name} failed (exit 5): Failed to start ${name}: Unit ${name} not found.`);
    if (l.entry.kind === 'mask') throw new GitfleetError('SYSTEMD_FAILED', `systemctl start -- ${name} failed (exit 1): Failed to start ${name}: Unit ${name} is masked.`);
    return l;
  }

  private run(name: string, l: Loaded): void {
    const cfg = this.config(l);
    const exec = cfg.get('Service.ExecStart') ?? '';
    const ignoreFailure = exec.startsWith('-');
    const program = exec.replace(/^[-@:+!]+/, '').split(/\s+/)[0] ?? '';
    const fails = !ignoreFailure && /(^|\/)false$/.test(program);
    const type = cfg.get('Service.Type') ?? 'simple';
    const restart = cfg.get('Service.Restart') ?? 'no';
    const s: Runtime = { activeState: 'active', subState: 'running', result: 'success', nRestarts: 0, flapping: false };
    if (type === 'oneshot') {
      if (fails) {
        this.runtime.set(name, { ...s, activeState: 'failed', subState: 'failed', result: 'exit-code' });
        throw new GitfleetError('SYSTEMD_FAILED', `systemctl start -- ${name} failed (exit 1): Job for ${name} failed because the control process exited with error code.`);
      }
      const remain = /^(yes|true|1|on)$/.test(cfg.get('Service.RemainAfterExit') ?? 'no');
      this.runtime.set(name, remain ? { ...s, subState: 'exited' } : { ...s, activeState: 'inactive', subState: 'dead' });
      return;
    }
    if (!fails) {
      this.runtime.set(name, s);
      return;
    }
    if (restart === 'always' || restart === 'on-failure') {
      this.runtime.set(name, { ...s, activeState: 'activating', subState: 'auto-restart', result: 'exit-code', flapping: true });
    } else {
      this.runtime.set(name, { ...s, activeState: 'failed', subState: 'failed', result: 'exit-code' });
    }
  }

  async observe(names: string[]): Promise<LiveUnit[]> {
    await Promise.resolve();
    names.forEach(assertUnitName);
    return names.map((name) => {
      this.advance(name);
        const l = this.reference(name);
      const entry = this.disk.get(name);
      const s = this.state(name);
      const disk = this.snapshot(name);
      const stale = !isTemplateName(name) && l.entry !== null && (JSON.stringify(disk.entry) !== JSON.stringify(l.entry) || !sameDropins(disk.dropins, l.dropins));
      return {
        name,
        content: entry?.kind === 'file' ? entry.content : null,
        dropins: { ...(this.diskDropins.get(name) ?? {}) },
        unitFileState: this.unitFileState(name),
        activeState: s.activeState,
        subState: s.subState,
        result: s.result,
        nRestarts: s.nRestarts,
        loadState: this.loadState(l),
        needDaemonReload: stale,
      };
    });
  }

  async write(name: string, content: string, dropins: Record<string, string>): Promise<void> {
    await Promise.resolve();
    assertUnitName(name);
    for (const d of Object.keys(dropins)) assertDropinName(name, d);
    this.calls.push(`write ${name}`);
    this.disk.set(name, { kind: 'file', content });
    if (Object.keys(dropins).length > 0) this.diskDropins.set(name, { ...dropins });
    else this.diskDropins.delete(name);
  }

  async delete(name: string): Promise<void> {
    await Promise.resolve();
    assertUnitName(name);
    this.calls.push(`delete ${name}`);
    this.disk.delete(name);
    this.diskDropins.delete(name);
  }

  async daemonReload(): Promise<void> {
    await Promise.resolve();
    this.calls.push('daemon-reload');
    this.reload();
  }

  async enable(names: string | string[]): Promise<void> {
    if (Array.isArray(names)) {
      // systemctl refuses the whole call when one unit cannot be enabled.
      for (const name of names) this.enableOne(name, true);
      for (const name of names) this.enableOne(name, false);
      return;
    }
    await Promise.resolve();
    this.enableOne(names, false);
  }

  private enableOne(name: string, dryRun: boolean): void {
    assertUnitName(name);
    const entry = this.disk.get(name);
    if (!entry) throw new GitfleetError('SYSTEMD_FAILED', `systemctl enable -- ${name} failed (exit 1): Failed to enable unit: Unit file ${name} does not exist.`);
    if (entry.kind === 'mask') throw new GitfleetError('SYSTEMD_FAILED', `systemctl enable -- ${name} failed (exit 1): Failed to enable unit: Unit file /etc/systemd/system/${name} is masked.`);
    const install = directives([entry.content]);
    if (isTemplateName(name) && this.unitFileState(name) !== 'static' && !install.has('Install.DefaultInstance')) {
      throw new GitfleetError('SYSTEMD_FAILED', `systemctl enable -- ${name} failed (exit 1): Failed to enable unit: Destination unit multi-user.target is a non-template unit.`);
    }
    if (dryRun) return;
    this.calls.push(`enable ${name}`);
    if (this.unitFileState(name) !== 'static') this.enabled.add(name);
    this.reload();
  }

  async disable(name: string): Promise<void> {
    await Promise.resolve();
    assertUnitName(name);
    this.calls.push(`disable ${name}`);
    this.enabled.delete(name);
    this.reload();
  }

  async unmask(name: string): Promise<void> {
    await Promise.resolve();
    assertUnitName(name);
    this.calls.push(`unmask ${name}`);
    if (this.disk.get(name)?.kind === 'mask') this.disk.delete(name);
    this.reload();
  }

  async start(names: string | string[]): Promise<void> {
    await Promise.resolve();
    const list = Array.isArray(names) ? names : [names];
    // systemctl refuses the whole call when one unit cannot be started.
    list.forEach((n) => {
      assertUnitName(n);
      this.mustBeStartable(n);
    });
    for (const name of list) this.startOne(name);
  }

  private startOne(name: string): void {
    const l = this.mustBeStartable(name);
    this.calls.push(`start ${name}`);
    const s = this.state(name);
    if (s.activeState === 'active' || s.activeState === 'activating') return;
    this.run(name, l);
  }

  async stop(name: string): Promise<void> {
    await Promise.resolve();
    assertUnitName(name);
    this.calls.push(`stop ${name}`);
    const s = this.runtime.get(name);
    if (!s || s.activeState === 'failed') return;
    this.runtime.set(name, { ...s, activeState: 'inactive', subState: 'dead', flapping: false });
  }

  async restart(name: string): Promise<void> {
    await Promise.resolve();
    assertUnitName(name);
    const l = this.mustBeStartable(name);
    this.calls.push(`restart ${name}`);
    this.run(name, l);
  }

  async resetFailed(name: string): Promise<void> {
    await Promise.resolve();
    assertUnitName(name);
    this.calls.push(`reset-failed ${name}`);
    const s = this.runtime.get(name);
    if (!s) return;
    if (s.activeState === 'failed') this.runtime.set(name, { activeState: 'inactive', subState: 'dead', result: 'success', nRestarts: 0, flapping: false });
    else this.runtime.set(name, { ...s, result: 'success', nRestarts: 0 });
  }
}
