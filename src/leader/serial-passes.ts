// What the status writer, the roots publisher and the Istio event reporter share: their work is a
// pass over everything they want, run one at a time; a kick during a pass runs one more after it,
// so a change is never lost and never handled by two passes at once.
export class SerialPasses {
  private dirty = false;
  private running: Promise<void> | undefined;
  private ended = false;

  constructor(private readonly pass: () => Promise<void>) {}

  /** Whether stop() was called: a pass checks it between API calls. */
  get stopped(): boolean {
    return this.ended;
  }

  /** Runs a pass now, or once more after the one running. */
  kick(): void {
    if (this.ended) return;
    this.dirty = true;
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
      // A kick between the loop's last check and this callback found `running` still set.
      if (this.dirty) this.kick();
    });
  }

  /** Resolves when no pass is pending or running (a retry timer of the owner's does not count). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.ended = true;
    await this.idle();
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.ended) {
      this.dirty = false;
      await this.pass();
    }
  }
}
