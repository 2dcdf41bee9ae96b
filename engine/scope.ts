/**
 * Tensor lifetime scopes. `tidy(fn)` disposes every tensor created inside `fn`
 * except those it returns (which move to the enclosing scope) and those passed to
 * `keep()`. A FinalizationRegistry in tensor.ts is only a backstop.
 */

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const stack: Array<Set<Disposable>> = [];

export function track(t: Disposable): void {
  stack[stack.length - 1]?.add(t);
}

/** Removes a tensor from every open scope so `tidy` will not dispose it. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if ('dispose' in value && 'isDisposed' in value) {
    out.add(value as Disposable);
    return;
  }
  const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const v of items) collect(v, out, depth + 1);
}

export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) {
    throw new Error('tidy: the function returned a Promise; tidy only accepts synchronous functions (await outside it)');
  }
  const survivors = new Set<Disposable>();
  collect(result, survivors);
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}
