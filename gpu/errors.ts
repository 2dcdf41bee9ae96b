/**
 * Errors the engine raises about the device itself (rather than about an op's inputs),
 * as named classes so callers can tell them apart with `instanceof`.
 */

/** `shutdown()` was called while this work (a readback, a sync) was still pending, or after it. */
export class DeviceShutdownError extends Error {
  override name = 'DeviceShutdownError';
}

/** The GPU device was lost (destroyed, driver reset, out of memory…): init() again for a new one. */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  constructor(message: string, readonly reason: string) {
    super(message);
  }
}

/** A kernel's WGSL did not compile; names the kernel and the line. */
export class ShaderCompileError extends Error {
  override name = 'ShaderCompileError';
  constructor(message: string, readonly kernel: string, readonly line: number, readonly column: number) {
    super(message);
  }
}

/**
 * Runs `work` and returns its promise, made so that a rejection with DeviceShutdownError counts
 * as handled: callers who await it still get the error, but a readback nobody awaits does not
 * become an unhandled rejection (which ends a Node process) just because the program shut the
 * device down first. Any other rejection behaves as usual.
 */
export function settleOnShutdown<T>(work: () => Promise<T>): Promise<T> {
  let started: Promise<T>;
  try {
    started = work();
  } catch (e) {
    started = Promise.reject(e);
  }
  const promise: Promise<T> = new Promise<T>((resolve, reject) => {
    started.then(resolve, (e: unknown) => {
      if (e instanceof DeviceShutdownError) promise.catch(() => {});
      reject(e);
    });
  });
  return promise;
}
