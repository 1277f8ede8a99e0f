// A Source that serves the Kubernetes YAML files of a directory (recursively), watching it for changes.
// Watch events name the file that changed, so an edit reads and parses that one file only, and
// only its changed documents. A changed file is read as soon as it has been quiet briefly and
// applied then if its text shows it is whole (its last document delimited, no object withdrawn);
// otherwise once it has settled (see settling-watcher.ts), so a rewrite paused half-way is never
// applied. A full rescan (start, reload(), a new folder) reads every file but parses only those
// whose text changed. A file that fails to read, parse or validate is rejected as a whole and its
// last good content stays in use; one file's failure never reaches another file or startup.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../logging.js';
import { EMPTY_OBJECTS, type ObjectSet, type V1Service } from '../objects.js';
import type { Source, SourceSink } from '../source.js';
import {
  describeKey, endsDelimited, parseConfigText, type ConfigError, type DocumentReuse, type ParsedObject, type ParsedText,
} from './parse-file.js';
import { CombinedObjects } from './combined-objects.js';
import { DEFAULT_MAX_CONFIG_FILE_BYTES, readConfigFile } from './read-config-file.js';
import { SettlingWatcher, type SettledChanges } from './settling-watcher.js';

export interface ConfigDirOptions {
  /** Watch for changes after the initial load (default true). */
  readonly watch?: boolean;
  /**
   * A changed file is read once unchanged for this long and applied if evidently whole (default
   * 10 ms; at most settleMs).
   */
  readonly quietMs?: number;
  /** A changed file is applied, whatever it holds, once unchanged for this long (default 50 ms). */
  readonly settleMs?: number;
  /** ... and at the latest this long after its first change (default 1 s). */
  readonly maxSettleMs?: number;
  /** Files larger than this are refused unread (default 4 MiB, `--max-config-file-bytes`). */
  readonly maxFileBytes?: number;
  /** The parser (tests count calls through it). */
  readonly parse?: (file: string, text: string, previous?: DocumentReuse) => ParsedText;
  /** Told of every listing of the tree and every file read (tests count what a change costs). */
  readonly onIo?: (what: 'list' | 'read', path: string) => void;
}

interface ReloadResult {
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
  /** Results of the last parse's documents, so an edit parses only the documents it changed. */
  reuse?: DocumentReuse;
}

/** What the next pass has to look at. */
interface Work {
  /** List the tree again (new or removed files and folders). */
  relist: boolean;
  /** Read every listed file (and parse those whose text changed). */
  readAll: boolean;
  readonly files: Set<string>;
  /** Files quiet only briefly, with their watcher token: applied only if evidently whole. */
  readonly early: Map<string, number>;
}

function noWork(): Work {
  return { relist: false, readAll: false, files: new Set(), early: new Map() };
}

const YAML_FILE = /\.ya?ml$/i;
/** Text of a file that could not be read; never equal to real content. */
const UNREAD = '\u0000unreadable';

export class ConfigDirSource implements Source {
  readonly name: string;
  private readonly log: Logger;
  private readonly files = new Map<string, FileState>();
  /** Which file serves each object key (every file's good objects; never two files for one key). */
  private readonly owners = new Map<string, { readonly file: string; readonly document: number }>();
  private readonly combined = new CombinedObjects();
  private readonly maxFileBytes: number;
  private readonly parse: (file: string, text: string, previous?: DocumentReuse) => ParsedText;
  private current: ObjectSet | undefined;
  /** `namespace/name` of the Services in `current`, built when first asked. */
  private serviceNames: Map<string, V1Service> | undefined;
  private sink: SourceSink | undefined;
  private watcher: SettlingWatcher | undefined;
  private work: Work = noWork();
  private running: Promise<ReloadResult> | undefined;
  private stopped = false;
  private readonly listeners = new Set<(result: ReloadResult) => void>();

  constructor(private readonly dir: string, logger: Logger, private readonly options: ConfigDirOptions = {}) {
    this.name = `config-dir:${dir}`;
    this.log = logger.child({ component: 'config-dir', dir });
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_CONFIG_FILE_BYTES;
    this.parse = options.parse ?? parseConfigText;
  }

  async start(sink: SourceSink): Promise<void> {
    const stat = await fsp.stat(this.dir).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`config directory ${this.dir}: ${err.code === 'ENOENT' ? 'does not exist' : err.message}`);
    });
    if (!stat.isDirectory()) throw new Error(`config directory ${this.dir}: not a directory`);
    // Watch before the first scan, so a change during the scan triggers another pass.
    if (this.options.watch !== false) {
      this.watcher = new SettlingWatcher(this.dir, {
        quietMs: this.options.quietMs ?? 10,
        settleMs: this.options.settleMs ?? 50,
        maxSettleMs: this.options.maxSettleMs ?? 1000,
        log: this.log,
        isConfigFile: (name) => YAML_FILE.test(name),
        onSettled: (changes) => this.onSettled(changes),
        // The store's debounce starts at the write, not after the settle window and the read:
        // a file edit then reaches the push as soon as a registry change does.
        onChangeSeen: () => { if (!this.stopped) this.sink?.changeComing?.(this.name); },
      });
      this.watcher.watchDirs([this.dir]);
    }
    await this.reload();
    this.sink = sink;
    sink.replace(this.name, this.objects());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    await this.running?.catch(() => undefined);
  }

  /** The objects currently served (every file's last good content, files in path order). */
  objects(): ObjectSet {
    return this.current ?? EMPTY_OBJECTS;
  }

  /** The current problem of every file that has one (sorted by file). */
  errors(): ConfigError[] {
    return [...this.files.keys()].sort().flatMap((f) => this.files.get(f)?.errors ?? []);
  }

  /** Where each object served comes from, by object key (`Kind/namespace/name`): for messages. */
  origins(): Map<string, { readonly file: string; readonly document: number }> {
    return new Map(this.owners);
  }

  /** The Service a file currently serves under this name (the registry leaves those alone). */
  definedService(namespace: string, name: string): V1Service | undefined {
    this.serviceNames ??= new Map(this.objects().services.map((s) => [`${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`, s]));
    return this.serviceNames.get(`${namespace}/${name}`);
  }

  /** Called after every pass, changed or not (for debug endpoints and tests). */
  onReload(listener: (result: ReloadResult) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Rescans the whole directory now. Concurrent calls are serialised into at most one more pass. */
  reload(): Promise<ReloadResult> {
    this.work.relist = true;
    this.work.readAll = true;
    return this.drain();
  }

  private onSettled(changes: SettledChanges): void {
    if (this.stopped) return;
    for (const f of changes.files) this.work.files.add(f);
    for (const [f, token] of changes.early) this.work.early.set(f, token);
    this.work.relist ||= changes.relist;
    this.work.readAll ||= changes.rereadAll;
    this.drain().catch((err: Error) => this.log.error('config reload failed', { reason: err.message }));
  }

  /** Runs passes until no work is left; one pass at a time. */
  private drain(): Promise<ReloadResult> {
    // The running loop takes work added while it runs; anything it missed at its very end runs next.
    if (this.running !== undefined) return this.running.then((r) => (this.hasWork() ? this.drain() : r));
    const run = async (): Promise<ReloadResult> => {
      let changedAny = false;
      let result: ReloadResult = { changed: false, errors: this.errors() };
      while (!this.stopped && this.hasWork()) {
        const work = this.work;
        this.work = noWork();
        result = await this.pass(work);
        changedAny ||= result.changed;
      }
      return { changed: changedAny, errors: result.errors };
    };
    this.running = run().finally(() => { this.running = undefined; });
    return this.running;
  }

  private hasWork(): boolean {
    return this.work.relist || this.work.readAll || this.work.files.size > 0 || this.work.early.size > 0;
  }

  private async pass(work: Work): Promise<ReloadResult> {
    const toRead = new Set(work.files);
    let changed = false;
    if (work.relist) {
      this.options.onIo?.('list', this.dir);
      const { files: found, dirs } = await listYamlFiles(this.dir, this.log);
      // A folder watched only now may have gained files before its watcher existed: list once more.
      if (this.watcher?.watchDirs(dirs) === true && this.files.size > 0) this.work.relist = true;
      const listed = new Set(found);
      for (const file of this.files.keys()) if (!listed.has(file)) changed = this.removeFile(file) || changed;
      for (const file of found) if (work.readAll || !this.files.has(file)) toRead.add(file);
    }
    // A file also due for a full read is read as settled.
    const early = new Map([...work.early].filter(([file]) => !toRead.has(file)));
    const outcomes = await Promise.all([...toRead, ...early.keys()].sort()
      .map(async (file) => {
        this.options.onIo?.('read', file);
        return [file, await readConfigFile(file, this.maxFileBytes)] as const;
      }));
    const confirmed: Array<readonly [string, number]> = [];
    let waiting = 0;
    for (const [file, outcome] of outcomes) {
      try {
        const token = early.get(file);
        if (token !== undefined) {
          // Gone or unreadable may be a rewrite in progress: the settled read decides.
          if (outcome.kind === 'text' && this.applyIfWhole(file, outcome.text)) confirmed.push([file, token]);
          else waiting++;
        } else if (outcome.kind === 'gone') changed = this.removeFile(file) || changed;
        else if (outcome.kind === 'error') this.unreadable(file, outcome.reason);
        else this.applyText(file, outcome.text);
      } catch (err) {
        // A bug in one file's handling must not stop the others.
        this.unreadable(file, `cannot load the file: ${(err as Error).message}`);
      }
    }
    changed = this.acceptPending() || changed;
    if (changed || this.current === undefined) {
      this.current = this.combined.objects();
      this.serviceNames = undefined;
    }
    const result: ReloadResult = { changed, errors: this.errors() };
    if (this.sink !== undefined && !this.stopped) {
      if (changed) this.sink.replace(this.name, this.current);
      // A file still settling reports later; the store keeps waiting for it meanwhile.
      else if (waiting === 0) this.sink.nothingChanged?.(this.name);
    }
    for (const [file, token] of confirmed) this.watcher?.settledEarly(file, token);
    for (const listener of this.listeners) listener(result);
    return result;
  }

  private removeFile(file: string): boolean {
    const gone = this.files.get(file);
    if (gone === undefined) return false;
    this.files.delete(file);
    for (const o of gone.good) if (this.owners.get(o.key)?.file === file) this.owners.delete(o.key);
    this.combined.set(file, undefined);
    this.log.info('config file removed; its objects are gone', { file, objects: gone.good.length });
    return gone.good.length > 0;
  }

  /** Unreadable (or too large): keep whatever we had, and parse again once it can be read. */
  private unreadable(file: string, reason: string): void {
    const next = this.files.get(file) ?? { text: '', good: [], errors: [] };
    next.text = UNREAD;
    next.pending = undefined;
    this.setErrors(file, next, [{ file, document: null, reason }]);
  }

  private applyText(file: string, text: string): void {
    const state = this.files.get(file);
    if (state !== undefined && state.text === text) return;
    const next: FileState = state ?? { text, good: [], errors: [] };
    next.text = text;
    next.pending = undefined;
    if (text.length === 0 && next.good.length > 0) {
      // Truncated for an in-place rewrite, most likely: withdrawing its objects for the length of
      // the write would push "no such service" to proxies. Deleting the file removes them.
      this.setErrors(file, next, [{ file, document: null, reason: 'file is empty (being rewritten?); keeping its last good content; delete the file to remove its objects' }]);
      return;
    }
    this.useParsed(file, next, this.parse(file, text, next.reuse));
  }

  /**
   * Applies text read before the file settled, if it shows it is whole: its last document is
   * delimited (endsDelimited), it parses and validates, and it keeps every object the file serves
   * (a rewrite paused after some documents would withdraw the rest). True when applied or
   * unchanged; false leaves the file as it was, for its settled read.
   */
  private applyIfWhole(file: string, text: string): boolean {
    const state = this.files.get(file);
    if (state !== undefined && state.text === text) return true;
    if (text.length === 0) return this.notWholeYet(file, 'it is empty');
    // Most YAML files are turned down here, unparsed: their settled read parses them once.
    if (!endsDelimited(text)) return this.notWholeYet(file, 'its last document is YAML, which does not show where it ends');
    const parsed = this.parse(file, text, state?.reuse);
    const reason = notWhole(parsed, state?.good ?? []);
    if (reason !== undefined) return this.notWholeYet(file, reason);
    const next: FileState = state ?? { text, good: [], errors: [] };
    next.text = text;
    next.pending = undefined;
    this.useParsed(file, next, parsed);
    return true;
  }

  private notWholeYet(file: string, reason: string): false {
    this.log.debug('config file read before it settled is not evidently whole; applying it once settled', { file, reason });
    return false;
  }

  private useParsed(file: string, next: FileState, parsed: ParsedText): void {
    next.reuse = parsed.reuse;
    for (const s of parsed.skipped) {
      this.log.debug('skipping a kind pilotfish does not use', { file, document: s.document, kind: s.kind, apiVersion: s.apiVersion });
    }
    if (parsed.errors.length > 0) {
      this.setErrors(file, next, parsed.errors);
    } else {
      next.pending = parsed.objects;
      this.files.set(file, next);
    }
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
      for (const file of [...this.files.keys()].sort()) {
        const state = this.files.get(file);
        if (state?.pending === undefined) continue;
        const clashes: ConfigError[] = [];
        for (const o of state.pending) {
          const owner = this.owners.get(o.key);
          if (owner !== undefined && owner.file !== file) {
            clashes.push({
              file, document: o.document,
              reason: `duplicate ${describeKey(o.key)}: already defined in ${owner.file} (document ${owner.document})`,
            });
          }
        }
        if (clashes.length > 0) { conflicts.set(file, clashes); continue; }
        for (const o of state.good) this.owners.delete(o.key);
        for (const o of state.pending) this.owners.set(o.key, { file, document: o.document });
        changedAny = true;
        progress = true;
        const hadErrors = state.errors.length > 0;
        state.good = state.pending;
        state.pending = undefined;
        state.errors = [];
        this.combined.set(file, state.good);
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

}

/** Why parsed text read before its file settled is not evidently whole; undefined when it is. */
function notWhole(parsed: ParsedText, served: readonly ParsedObject[]): string | undefined {
  if (parsed.errors.length > 0) return 'it does not parse or validate';
  const keys = new Set(parsed.objects.map((o) => o.key));
  const gone = served.filter((o) => !keys.has(o.key)).length;
  if (gone > 0) return `${gone} of the objects it serves are missing`;
  return undefined;
}

/** One-shot load without watching (for `pilotfish config-dump` and validation). */
export async function loadConfigDir(dir: string, logger: Logger): Promise<{ objects: ObjectSet; errors: ConfigError[] }> {
  const source = new ConfigDirSource(dir, logger, { watch: false });
  let objects: ObjectSet = EMPTY_OBJECTS;
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
