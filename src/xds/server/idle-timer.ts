// Caches that only matter during a burst (a push, a connect storm) empty themselves once the
// burst is over: this calls `onIdle` once nothing has touched it for `ms`.
export class IdleTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number, private readonly onIdle: () => void) {}

  touch(): void {
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onIdle();
    }, this.ms);
    // A pending clean-up must not keep the process alive.
    this.timer.unref();
  }
}
