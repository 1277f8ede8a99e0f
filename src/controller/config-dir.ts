// A Source that serves the Kubernetes YAML files of a directory (recursively), watching it for changes.
// Every reload rescans the whole directory and compares file contents, so editors' write-and-rename,
// deletions and new subdirectories are all handled the same way, whatever events fs.watch reports.
// A file that fails to parse or validate is rejected as a whole: its last good content stays in use.
import { promises as fsp, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logging.js';
import type { ObjectSet } from './objects.js';
import type { Source, SourceSink } from './source.js';
import { describeKey, objectSetOf, parseConfigText, type ConfigError, type ParsedObject } from './config-parse.js';

export type { ConfigError } from './config-parse.js';

export interface ConfigDirOptions {
  /** Watch for changes after the initial load (default true). */
  readonly watch?: boolean;
  /** Quiet time after the last file event before rescanning (default 50 ms). */
  readonly coalesceMs?: number;
}

export interface ReloadResult {
  /** True when the effective objects changed (and were reported to the sink). */
  readonly changed: boolean;
  readonly errors: readonly ConfigError[];
}

interface FileState {
  text: string;
  /** Objects currently in use (last good content); empty until the file was valid once. */
  good: readonly ParsedObject[];
  /** Parsed current text that is valid on its own but waits on a name conflict with another file. */
  pending?: readonly ParsedObject[];
  errors: readonly ConfigError[];
}

const YAML_FILE = /\.ya?ml$/i;
/** Text of a file that could not be read; never equal to real content. */
const UNREAD = '\u0000unreadable';

export class ConfigDirSource implements Source {
  readonly name: string;
  private readonly log: Logger;
  private readonly files = new Map<string, FileState>();
  private current: ObjectSet | undefined;
  private sink: SourceSink | undefined;
  /** One non-recursive watcher per directory: Node 20's recursive mode on Linux misses files renamed into place (how editors save). */
  private readonly watchers = new Map<string, FSWatcher>();
  private watching = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReloadResult> | undefined;
  private again = false;
  private stopped = false;
  private readonly listeners = new Set<(result: ReloadResult) => void>();

  constructor(private readonly dir: string, logger: Logger, private readonly options: ConfigDirOptions = {}) {
    this.name = `config-dir:${dir}`;
    this.log = logger.child({ component: 'config-dir', dir });
  }

  async start(sink: SourceSink): Promise<void> {
    const stat = await fsp.stat(this.dir).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`config directory ${this.dir}: ${err.code === 'ENOENT' ? 'does not exist' : err.message}`);
    });
    if (!stat.isDirectory()) throw new Error(`config directory ${this.dir}: not a directory`);
    // Watch before the first scan, so a change during the scan triggers another one.
    if (this.options.watch !== false) this.startWatching();
    await this.reload();
    this.sink = sink;
    sink.replace(this.name, this.objects());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watching = false;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** The objects currently served (every file's last good content, files in path order). */
  objects(): ObjectSet {
    return this.current ?? objectSetOf([]);
  }

  /** The current problem of every file that has one (sorted by file). */
  errors(): ConfigError[] {
    return [...this.files.keys()].sort().flatMap((f) => this.files.get(f)?.errors ?? []);
  }

  /** Where each object served comes from, by object key (`Kind/namespace/name`): for messages. */
  origins(): Map<string, { readonly file: string; readonly document: number }> {
    const out = new Map<string, { file: string; document: number }>();
    for (const [file, state] of this.files) {
      for (const o of state.good) out.set(o.key, { file, document: o.document });
    }
    return out;
  }

  /** Called after every rescan, changed or not (for debug endpoints and tests). */
  onReload(listener: (result: ReloadResult) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Rescans the directory now. Concurrent calls are serialised into at most one more scan. */
  reload(): Promise<ReloadResult> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    const run = async (): Promise<ReloadResult> => {
      let result: ReloadResult;
      let changedAny = false;
      do {
        this.again = false;
        result = await this.scanOnce();
        changedAny ||= result.changed;
      } while (this.again && !this.stopped);
      return { changed: changedAny, errors: result.errors };
    };
    this.running = run().finally(() => { this.running = undefined; });
    return this.running;
  }

  private startWatching(): void {
    this.watching = true;
    this.syncWatchers([this.dir]);
  }

  /** Watches exactly the given directories (the root and every subdirectory the last scan saw). */
  private syncWatchers(dirs: readonly string[]): void {
    if (!this.watching || this.stopped) return;
    const wanted = new Set(dirs);
    wanted.add(this.dir);
    for (const [d, w] of this.watchers) {
      if (!wanted.has(d)) {
        w.close();
        this.watchers.delete(d);
      }
    }
    for (const d of wanted) {
      if (this.watchers.has(d)) continue;
      try {
        const w = watch(d, () => this.scheduleReload());
        w.on('error', (err) => {
          // A removed subdirectory ends its watcher; the next scan drops it for good.
          if (d === this.dir) this.log.error('watching the config directory failed; serving the last loaded content', { reason: err.message });
          w.close();
          this.watchers.delete(d);
          this.scheduleReload();
        });
        this.watchers.set(d, w);
      } catch (err) {
        const level = d === this.dir ? 'error' : 'warn';
        this.log[level]('cannot watch a config directory; its changes will not be picked up', { watched: d, reason: (err as Error).message });
      }
    }
  }

  private scheduleReload(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload().catch((err: Error) => this.log.error('config reload failed', { reason: err.message }));
    }, this.options.coalesceMs ?? 50);
  }

  private async scanOnce(): Promise<ReloadResult> {
    const { files: found, dirs } = await listYamlFiles(this.dir, this.log);
    this.syncWatchers(dirs);
    const texts = new Map<string, string | ConfigError>();
    await Promise.all(found.map(async (file) => {
      try {
        texts.set(file, await fsp.readFile(file, 'utf8'));
      } catch (err) {
        // Deleted between listing and reading: treat as gone.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        texts.set(file, { file, document: null, reason: `cannot read file: ${(err as Error).message}` });
      }
    }));

    let changed = false;
    for (const file of [...this.files.keys()]) {
      if (!texts.has(file)) {
        const gone = this.files.get(file);
        this.files.delete(file);
        if (gone !== undefined && gone.good.length > 0) changed = true;
        this.log.info('config file removed; its objects are gone', { file, objects: gone?.good.length ?? 0 });
      }
    }
    for (const file of [...texts.keys()].sort()) {
      const text = texts.get(file);
      if (text === undefined) continue;
      const state = this.files.get(file);
      if (typeof text !== 'string') {
        // Unreadable: keep whatever we had, and parse again once it can be read.
        const next = state ?? { text: '', good: [], errors: [] };
        next.text = UNREAD;
        next.pending = undefined;
        this.setErrors(file, next, [text]);
        continue;
      }
      if (state !== undefined && state.text === text) continue;
      const parsed = parseConfigText(file, text);
      const next: FileState = state ?? { text, good: [], errors: [] };
      next.text = text;
      next.pending = undefined;
      if (parsed.errors.length > 0) {
        this.setErrors(file, next, parsed.errors);
      } else {
        next.pending = parsed.objects;
        this.files.set(file, next);
      }
    }
    changed = this.acceptPending() || changed;
    if (changed || this.current === undefined) this.current = objectSetOf(this.effectiveObjects());
    const result: ReloadResult = { changed, errors: this.errors() };
    if (changed && this.sink !== undefined && !this.stopped) this.sink.replace(this.name, this.current);
    for (const listener of this.listeners) listener(result);
    return result;
  }

  /**
   * Accepts pending file contents whose objects clash with no other file's objects in use.
   * An object already served from one file keeps being served from it; retried until nothing
   * moves, since accepting one file can free names another file waits for.
   */
  private acceptPending(): boolean {
    let changedAny = false;
    let progress = true;
    const conflicts = new Map<string, ConfigError[]>();
    while (progress) {
      progress = false;
      conflicts.clear();
      const owners = new Map<string, { file: string; document: number }>();
      for (const [file, state] of this.files) {
        for (const o of state.good) owners.set(o.key, { file, document: o.document });
      }
      for (const file of [...this.files.keys()].sort()) {
        const state = this.files.get(file);
        if (state?.pending === undefined) continue;
        const clashes: ConfigError[] = [];
        for (const o of state.pending) {
          const owner = owners.get(o.key);
          if (owner !== undefined && owner.file !== file) {
            clashes.push({
              file, document: o.document,
              reason: `duplicate ${describeKey(o.key)}: already defined in ${owner.file} (document ${owner.document})`,
            });
          }
        }
        if (clashes.length > 0) { conflicts.set(file, clashes); continue; }
        for (const o of state.good) owners.delete(o.key);
        for (const o of state.pending) owners.set(o.key, { file, document: o.document });
        changedAny = true;
        progress = true;
        const hadErrors = state.errors.length > 0;
        state.good = state.pending;
        state.pending = undefined;
        state.errors = [];
        if (hadErrors) this.log.info('config file is valid again', { file, objects: state.good.length });
        else this.log.debug('config file loaded', { file, objects: state.good.length });
      }
    }
    for (const [file, clashes] of conflicts) {
      const state = this.files.get(file);
      if (state !== undefined) this.setErrors(file, state, clashes);
    }
    return changedAny;
  }

  private setErrors(file: string, state: FileState, errors: readonly ConfigError[]): void {
    const same = state.errors.length === errors.length
      && state.errors.every((e, i) => e.document === errors[i]?.document && e.reason === errors[i]?.reason);
    state.errors = errors;
    this.files.set(file, state);
    if (same) return;
    for (const e of errors) {
      this.log.warn('invalid config file; keeping its last good content', {
        file: e.file, document: e.document, reason: e.reason, keptObjects: state.good.length,
      });
    }
  }

  private effectiveObjects(): ParsedObject[] {
    return [...this.files.keys()].sort().flatMap((f) => this.files.get(f)?.good ?? []);
  }
}

/** One-shot load without watching (for `pilotfish config-dump` and validation). */
export async function loadConfigDir(dir: string, logger: Logger): Promise<{ objects: ObjectSet; errors: ConfigError[] }> {
  const source = new ConfigDirSource(dir, logger, { watch: false });
  let objects: ObjectSet = objectSetOf([]);
  await source.start({ replace: (_name, set) => { objects = set; } });
  await source.stop();
  return { objects, errors: source.errors() };
}

/** *.yaml / *.yml below dir, skipping dot-files and dot-directories (editor temp files, ConfigMap `..data`). */
async function listYamlFiles(dir: string, log: Logger): Promise<{ files: string[]; dirs: string[] }> {
  const out: string[] = [];
  const dirs: string[] = [];
  const visited = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    // Symlinked directories may form loops.
    const real = await fsp.realpath(d).catch(() => d);
    if (visited.has(real)) return;
    visited.add(real);
    dirs.push(d);
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') log.warn('cannot list config directory', { dir: d, reason: (err as Error).message });
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(d, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const target = await fsp.stat(full).catch(() => undefined);
        isDir = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDir) await walk(full);
      else if (isFile && YAML_FILE.test(e.name)) out.push(full);
    }
  };
  await walk(dir);
  return { files: out, dirs };
}
