/**
 * Why an ONNX model was refused. Every refusal is an OnnxError carrying `exitCode` 2 (refused
 * input, which the `wgprune` command exits with) and, for unsupported content, every problem
 * found — not just the first.
 */

/** One thing wgprune cannot import or export, tied to a node or module when there is one. */
export interface OnnxProblem {
  /** ONNX node name (import) or module key (export); absent for the model as a whole. */
  node?: string;
  /** ONNX operator type (import) or module type (export). */
  opType?: string;
  message: string;
}

/**
 * - `malformed`: the bytes are not a readable ONNX model (not protobuf, truncated, a graph that
 *   reads values nothing produces, …);
 * - `unsupported`: operators, attributes or structures wgprune does not build (all listed);
 * - `dynamic-shape`: a shape that the file leaves open and nothing fixes.
 */
export type OnnxErrorKind = 'malformed' | 'unsupported' | 'dynamic-shape';

export class OnnxError extends Error {
  /** Refused input: `wgprune` exits with this code. */
  readonly exitCode = 2;

  constructor(readonly kind: OnnxErrorKind, message: string, readonly problems: OnnxProblem[] = []) {
    super(message);
    this.name = 'OnnxError';
  }
}

export function describeProblem(p: OnnxProblem): string {
  if (p.node === undefined) return p.message;
  return `'${p.node}'${p.opType ? ` (${p.opType})` : ''}: ${p.message}`;
}

/** One message listing every problem, one per line. */
export function problemsError(kind: OnnxErrorKind, headline: string, problems: OnnxProblem[]): OnnxError {
  const lines = problems.map((p) => `  - ${describeProblem(p)}`);
  return new OnnxError(kind, `${headline}:\n${lines.join('\n')}`, problems);
}
