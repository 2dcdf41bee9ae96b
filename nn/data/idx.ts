/**
 * IDX reader (the format the original MNIST files use).
 *
 * Layout: a 4-byte big-endian magic number `0x00 0x00 <type> <ndims>`, then
 * `ndims` big-endian u32 dimension sizes, then the values row-major. MNIST uses
 * unsigned bytes (type 0x08): images are 0x00000803 (N×rows×cols), labels
 * 0x00000801 (N). Only unsigned-byte files are read; everything else is refused
 * with a message naming the file and what is wrong. Reading files (Node) is in ./idx-file.ts.
 */
/** What a caller expects the file to hold: `images` = ubyte × 3 dims, `labels` = ubyte × 1 dim. */
export type IdxKind = 'images' | 'labels';

export interface IdxArray {
  /** Dimension sizes from the header, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The values, row-major (a view into the input bytes, not a copy). */
  data: Uint8Array;
}

export interface ParseIdxOptions {
  /** Name used in error messages (a path, usually). */
  name?: string;
  /** Refuse a file that is not of this kind. */
  expect?: IdxKind;
}

const UBYTE = 0x08;
const TYPE_NAMES: Record<number, string> = { 0x08: 'ubyte', 0x09: 'sbyte', 0x0b: 'i16', 0x0c: 'i32', 0x0d: 'f32', 0x0e: 'f64' };
const KIND_DIMS: Record<IdxKind, number> = { images: 3, labels: 1 };

const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** Parses IDX bytes (pure; no I/O). Throws with `name` and the problem in the message. */
export function parseIdx(bytes: Uint8Array, options: ParseIdxOptions = {}): IdxArray {
  const name = options.name ?? 'IDX data';
  const fail = (what: string): never => {
    throw new Error(`${name}: ${what}`);
  };
  if (bytes.length < 4) fail(`not an IDX file: ${bytes.length} bytes, too short for the 4-byte magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) fail(`bad magic ${hex(magic)}: the file is gzip-compressed; decompress it (gunzip) first`);
  const type = bytes[2]!;
  const ndims = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || !(type in TYPE_NAMES) || ndims === 0) {
    fail(`bad magic ${hex(magic)}: not an IDX file (expected 0x000008NN, e.g. 0x00000803 for images or 0x00000801 for labels)`);
  }
  if (type !== UBYTE) fail(`bad magic ${hex(magic)}: IDX element type ${TYPE_NAMES[type]} is not supported (only ubyte, 0x08)`);
  if (options.expect) {
    const want = KIND_DIMS[options.expect];
    if (ndims !== want) {
      const got = ndims === 1 ? 'a labels file' : ndims === 3 ? 'an images file' : `a ${ndims}-dimensional file`;
      fail(`expected an IDX ${options.expect} file (magic ${hex(0x800 | want)}), got magic ${hex(magic)} (${got})`);
    }
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) fail(`truncated header: expected at least ${headerBytes} bytes for ${ndims} dimensions, got ${bytes.length}`);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const expected = headerBytes + count;
  if (bytes.length !== expected) {
    const why = bytes.length < expected ? 'truncated' : 'trailing bytes after the data';
    fail(`${why}: expected ${expected} bytes (header ${headerBytes} + dims [${dims.join(', ')}]), got ${bytes.length}`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}
