/**
 * Defaults of `wgprune study`, in one place: the timing protocol, the data subsets, and the
 * trained checkpoints shipped in the package (models/, each with the command that made it and
 * its accuracy in models/README.md).
 */
import { fileURLToPath } from 'node:url';
import type { ProtocolOptions } from '../measure/index.js';

/**
 * Timing: 2 warm-up calls, then 5 interleaved rounds (at least 3; no new round after 2 s per
 * workload), each repetition repeating the forward until it lasts ≥ 0.1 s. Short enough for the
 * default study to finish in minutes on a CPU adapter; raise --reps / --min-sample for a paper.
 */
export const DEFAULT_STUDY_PROTOCOL: Required<ProtocolOptions> = { warmup: 2, reps: 5, minReps: 3, budgetS: 2, minSampleS: 0.1 };

/** Training samples for fine-tuning and gradient scores, and test samples for accuracy, unless given. */
export const DEFAULT_TRAIN_LIMIT = 2000;
export const DEFAULT_TEST_LIMIT = 1000;

/** The package root: this module sits one folder below it, in source (study/) and bundled (dist/). */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Trained dense checkpoints shipped with the package, by architecture. */
export const SHIPPED_CHECKPOINTS: ReadonlyMap<string, string> = new Map([['lenet5', `${ROOT}models/lenet5-mnist.safetensors`]]);
