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
//   defined by its template's file; enabling a template needs DefaultInstance=;
// - units the distribution ships (`hand.vendor`): their file is not in the
//   unit directory (content null), drop-ins and a mask there override them;
//   `mask` is refused over a real unit file; write(name, null, …) leaves the
//   unit file and unmarked drop-ins alone;
// - the journal: systemd's own lines about a unit (Started, Main process
//   exited…, Failed with result…), and the last main process's exit code or
//   signal (ExecMainCode/ExecMainStatus).
//
// `hand` makes an operator's changes (edit a file, mask) and `calls` logs
// mutating calls, so a test can assert that a pass touched nothing.
import { GitfleetError } from '../../../shared/errors.ts';
import type { LiveUnit, UnitDriver } from '../types.ts';
import { activatedBy, isInstallable, MANAGED_MARKER_PREFIX, unitDirectives } from '../../../shared/unit-file.ts';
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
  exitCode?: number | null;
  signal?: string | null;
  conditionMet?: boolean | null;
}

const START_LIMIT_BURST = 5;

const directives = unitDirectives;

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
  /** Unit files the distribution ships (/usr/lib/systemd/system): never written by the driver. */
  private readonly vendor = new Map<string, string>();
  private readonly journal = new Map<string, string[]>();
  /** Paths that exist on the host, for ConditionPathExists= (nothing else does). */
  private readonly paths = new Set<string>();

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
      this.runtime.set(name, { ...this.state(name), activeState: 'failed', subState: 'failed', result: 'signal', flapping: false, exitCode: null, signal: 'SIGKILL' });
      this.log(name, `${name}: Main process exited, code=killed, status=9/KILL`, `${name}: Failed with result 'signal'.`);
    },
    /** A unit file the distribution ships (in /usr/lib/systemd/system, outside the unit directory). */
    vendor: (name: string, content: string) => {
      this.vendor.set(name, content);
    },
    /** `systemctl unmask` by hand. */
    unmask: (name: string) => {
      if (this.disk.get(name)?.kind === 'mask') this.disk.delete(name);
      this.reload();
    },
    /** A path that exists on the host (ConditionPathExists= holds for it). */
    path: (path: string) => {
      this.paths.add(path);
    },
    /** A drop-in someone else put in `<unit>.d/` (a package, an operator). */
    dropin: (name: string, file: string, content: string) => {
      this.diskDropins.set(name, { ...(this.diskDropins.get(name) ?? {}), [file]: content });
    },
  };

  /** Entries in the unit directory (files and masks; drop-in directories as NAME.d). */
  unitDirNames(): string[] {
    return [...this.disk.keys(), ...[...this.diskDropins.keys()].map((n) => `${n}.d`)].sort();
  }

  private log(name: string, ...lines: string[]): void {
    this.journal.set(name, [...(this.journal.get(name) ?? []), ...lines].slice(-1000));
  }

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
    const vendor = (n: string): DiskEntry | undefined => (this.vendor.has(n) ? { kind: 'file', content: this.vendor.get(n)! } : undefined);
    return this.disk.get(name) ?? vendor(name) ?? (template ? (this.disk.get(template) ?? vendor(template)) : undefined);
  }

  private snapshot(name: string): Loaded {
    return { entry: this.fileOf(name) ?? null, dropins: { ...(this.diskDropins.get(name) ?? {}) } };
  }

  private reload(): void {
    for (const name of new Set([...this.loaded.keys(), ...this.disk.keys(), ...this.vendor.keys()])) {
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
    if (!isInstallable(d)) return 'static';
    // Only Also=: enabling enables the others, and the unit itself stays "indirect".
    if (!['WantedBy', 'RequiredBy', 'UpheldBy', 'Alias'].some((k) => d.has(`Install.${k}`))) return 'indirect';
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
    const s: Runtime = { activeState: 'active', subState: 'running', result: 'success', nRestarts: 0, flapping: false, exitCode: null, signal: null, conditionMet: true };
    // ConditionPathExists=[!]PATH, the one condition modelled: unmet, the start succeeds and nothing runs.
    const condition = cfg.get('Unit.ConditionPathExists');
    if (condition !== undefined && this.paths.has(condition.replace(/^!/, '')) === condition.startsWith('!')) {
      this.runtime.set(name, { ...s, activeState: 'inactive', subState: 'dead', conditionMet: false });
      return;
    }
    const failed = [`${name}: Main process exited, code=exited, status=1/FAILURE`, `${name}: Failed with result 'exit-code'.`];
    if (type === 'oneshot') {
      if (fails) {
        this.runtime.set(name, { ...s, activeState: 'failed', subState: 'failed', result: 'exit-code', exitCode: 1 });
        this.log(name, `Starting ${name}...`, ...failed);
        throw new GitfleetError('SYSTEMD_FAILED', `systemctl start -- ${name} failed (exit 1): Job for ${name} failed because the control process exited with error code.`);
      }
      const remain = /^(yes|true|1|on)$/.test(cfg.get('Service.RemainAfterExit') ?? 'no');
      this.runtime.set(name, remain ? { ...s, subState: 'exited', exitCode: 0 } : { ...s, activeState: 'inactive', subState: 'dead', exitCode: 0 });
      this.log(name, `Starting ${name}...`, `Finished ${name}.`);
      return;
    }
    this.log(name, `Started ${name}.`);
    if (!fails) {
      this.runtime.set(name, s);
      return;
    }
    this.log(name, ...failed);
    if (restart === 'always' || restart === 'on-failure') {
      this.runtime.set(name, { ...s, activeState: 'activating', subState: 'auto-restart', result: 'exit-code', flapping: true, exitCode: 1 });
    } else {
      this.runtime.set(name, { ...s, activeState: 'failed', subState: 'failed', result: 'exit-code', exitCode: 1 });
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
        serviceType: name.endsWith('.service') && l.entry?.kind === 'file' ? (this.config(l).get('Service.Type') ?? 'simple') : '',
        remainAfterExit: /^(yes|true|1|on)$/.test(this.config(l).get('Service.RemainAfterExit') ?? 'no'),
        triggeredBy: this.triggersOf(name),
        exitCode: s.exitCode ?? null,
        signal: s.signal ?? null,
        conditionMet: s.conditionMet ?? null,
      };
    });
  }

  /** Loaded triggers (timers, sockets, paths) that activate `name`: systemd only knows those that are loaded. */
  private triggersOf(name: string): string[] {
    const out: string[] = [];
    for (const [trigger, l] of this.loaded) {
      if (l.entry?.kind !== 'file' || !/\.(timer|socket|path)$/.test(trigger)) continue;
      const targets = activatedBy(trigger, this.config(l));
      if (targets.includes(name) || targets.includes(templateOf(name) ?? '')) out.push(trigger);
    }
    return out.sort();
  }

  async write(name: string, content: string | null, dropins: Record<string, string>): Promise<void> {
    await Promise.resolve();
    assertUnitName(name);
    for (const d of Object.keys(dropins)) assertDropinName(name, d);
    this.calls.push(`write ${name}`);
    if (content === null) {
      // Not our unit: keep its file and every drop-in without our marker.
      const kept = Object.entries(this.diskDropins.get(name) ?? {}).filter(([file, text]) => !(file in dropins) && !text.startsWith(MANAGED_MARKER_PREFIX));
      const next = { ...Object.fromEntries(kept), ...dropins };
      if (Object.keys(next).length > 0) this.diskDropins.set(name, next);
      else this.diskDropins.delete(name);
      return;
    }
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
    // The unit's own file (or mask), the distribution's, or for an instance its template's.
    const entry = this.disk.get(name) ?? this.fileOf(name);
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

  async mask(name: string): Promise<void> {
    await Promise.resolve();
    assertUnitName(name);
    if (this.disk.get(name)?.kind === 'file') {
      throw new GitfleetError('SYSTEMD_FAILED', `systemctl mask -- ${name} failed (exit 1): Failed to mask unit: File /etc/systemd/system/${name} already exists.`);
    }
    this.calls.push(`mask ${name}`);
    this.disk.set(name, { kind: 'mask' });
    this.reload();
  }

  async logs(name: string, lines: number): Promise<string[]> {
    await Promise.resolve();
    assertUnitName(name);
    return (this.journal.get(name) ?? []).slice(-Math.max(1, Math.trunc(lines)));
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
