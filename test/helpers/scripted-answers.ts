/**
 * A scripted source for a resolver's injected I/O (a DNS lookup, a `DiscoverInstances`
 * call): each call gets the next answer of the script and is recorded, so that a test can
 * say what the backend answers, poll by poll, and check what the resolver asked.
 */

/** One scripted answer: items, an error (rejects with it), or a call that never answers. */
export type ScriptedAnswer<T> = readonly T[] | Error | 'hang';

/**
 * Answers calls from a script, one answer a call, repeating the last answer when the
 * script runs out (an empty list when it was empty). `C` is what a call records.
 */
export class ScriptedAnswers<C, T> {
  readonly script: ScriptedAnswer<T>[];
  /** Every call so far, in order. */
  readonly calls: C[] = [];
  private last: ScriptedAnswer<T> = [];

  constructor(...script: ScriptedAnswer<T>[]) {
    this.script = script;
  }

  /** Records `call` and answers it with the next answer of the script. */
  answer(call: C): Promise<readonly T[]> {
    this.calls.push(call);
    const answer = this.script.shift() ?? this.last;
    this.last = answer;
    if (answer === 'hang') return new Promise(() => undefined);
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(answer);
  }
}
