/**
 * Vitest set-up file (runs in every test file's process): the tests import the browser-safe
 * sources, so WebGPU comes from Dawn here, as the package's Node entry arranges for its users.
 */
import { useDawn } from '../../gpu/dawn.js';

useDawn();
