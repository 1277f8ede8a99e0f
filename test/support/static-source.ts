// A Source whose content the test sets directly.
import { EMPTY_OBJECTS, type ObjectSet } from '../../src/sources/objects.js';
import type { Source, SourceSink } from '../../src/sources/source.js';

export class StaticSource implements Source {
  private sink: SourceSink | undefined;
  constructor(readonly name: string, private objects: ObjectSet = EMPTY_OBJECTS) {}

  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    sink.replace(this.name, this.objects);
  }

  async stop(): Promise<void> {
    this.sink = undefined;
  }

  /** What it reports now. */
  current(): ObjectSet {
    return this.objects;
  }

  set(parts: Partial<ObjectSet>): void {
    this.objects = { ...EMPTY_OBJECTS, ...parts };
    this.sink?.replace(this.name, this.objects);
  }
}
