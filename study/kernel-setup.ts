/**
 * How a study's kernels were planned, in words: the device profile and why, whether a tuning
 * table was in use, and any variants forced. Printed when a study starts and shown in the
 * report's setup; reads only the results' device section.
 */
import type { StudyDevice } from './results.js';

/** One line, or null when the device records no profile (the CPU backend, files from before profiles). */
export function kernelSetupText(device: StudyDevice): string | null {
  if (!device.profile) return null;
  const parts = [`profile ${device.profile.name} (${device.profile.reason})`];
  const t = device.tuning;
  if (t) parts.push(t.inUse ? `tuning table in use (${t.entries} ${t.entries === 1 ? 'entry' : 'entries'})` : 'no tuning table (the profile\'s rules decide)');
  const forced = Object.entries(device.forcedKernels ?? {});
  if (forced.length) parts.push(`forced: ${forced.map(([family, variant]) => `${family}=${variant}`).join(', ')}`);
  return parts.join('; ');
}
