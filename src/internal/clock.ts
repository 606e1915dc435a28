/**
 * Time, injectable (STYLE.md §0.5): everything that waits or reads the time takes a
 * {@link Clock}, so that tests drive it with a fake one instead of sleeping.
 */

/** A source of time and of cancellable waits. */
export interface Clock {
  /** Milliseconds since the epoch (`Date.now()` for the real clock). */
  now(): number;
  /**
   * Resolves after `ms` milliseconds, or rejects with the signal's reason as soon as
   * `signal` aborts. The timer does not keep the process alive.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
