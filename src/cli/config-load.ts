// Loads config files once, exactly as `serve` would (the same parse, translation and routing
// validation, through the same store), for the commands that inspect them: `config-dump` prints
// what a proxy would get, `analyze` prints every problem.
import { stat, readFile } from 'node:fs/promises';
import { ConfigDirSource } from '../sources/config-dir/directory-source.js';
import { objectSetOf, parseConfigText, type ConfigError } from '../sources/config-dir/parse-file.js';
import type { Source, SourceSink } from '../sources/source.js';
import { SnapshotStore } from '../store/snapshot-store.js';
import { translate } from '../store/translate/translate.js';
import type { Logger } from '../logging.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import { CommandFailure } from './failure.js';

export interface ObjectOrigin {
  readonly file: string;
  /** 1-based. */
  readonly document: number;
}

export interface LoadedConfig {
  readonly snapshot: MeshSnapshot;
  /** Files, or documents of them, that were rejected (every object of such a file is left out). */
  readonly configErrors: readonly ConfigError[];
  /** Objects used only in part, as the store logs them: `<Kind> <namespace>/<name>: <reason>`. */
  readonly warnings: readonly string[];
  /** Where each loaded object is written, by object key (`Kind/namespace/name`). */
  readonly origins: ReadonlyMap<string, ObjectOrigin>;
}

/** The source for one file, parsed as a config directory parses each of its files. */
class ConfigFileSource implements Source {
  readonly name: string;
  private parseErrors: readonly ConfigError[] = [];
  private readonly where = new Map<string, ObjectOrigin>();

  constructor(private readonly file: string) {
    this.name = `config-file:${file}`;
  }

  async start(sink: SourceSink): Promise<void> {
    const parsed = parseConfigText(this.file, await readFile(this.file, 'utf8'));
    this.parseErrors = parsed.errors;
    for (const o of parsed.objects) this.where.set(o.key, { file: this.file, document: o.document });
    sink.replace(this.name, objectSetOf(parsed.objects));
  }

  async stop(): Promise<void> {}

  errors(): ConfigError[] {
    return [...this.parseErrors];
  }

  origins(): Map<string, ObjectOrigin> {
    return this.where;
  }
}

/** A YAML file, or a directory read as `serve --config-dir` reads it; fails when it cannot be read. */
export async function loadConfig(path: string, logger: Logger): Promise<LoadedConfig> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new CommandFailure(`${path}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
  });
  const source = info.isDirectory() ? new ConfigDirSource(path, logger, { watch: false }) : new ConfigFileSource(path);
  const store = new SnapshotStore({ logger, quietMs: 0, translate: { endpointsFromPods: true } });
  const snapshot = await store.start([source]).catch((err: Error) => {
    throw new CommandFailure(`${path}: ${err.message}`);
  });
  await store.stop();
  return {
    snapshot,
    configErrors: source.errors(),
    // Computed again rather than caught from the store's log: translate() is pure and cheap once.
    warnings: translate(store.merged(), { endpointsFromPods: true }).warnings,
    origins: source.origins(),
  };
}
