// Serves dist/web/ (the built browser page) on 127.0.0.1 and prints its URL.
//
//   node web/serve.mjs [--port N] [--no-build]      (npm run web builds first)
//
// The port comes from --port, else PORT, else 8173; when it is taken, a free port is used.
// WebGPU needs a secure context, which http://127.0.0.1 is (a file:// page has no navigator.gpu).
// Responses carry the cross-origin isolation headers, so ONNX Runtime Web may use threads.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.safetensors': 'application/octet-stream', '.onnx': 'application/octet-stream',
};

/** Starts a static server for `dir` on 127.0.0.1:`port` (0: any free port); resolves to { server, url }. */
export function serveStatic(dir, port = 0) {
  const rootDir = normalize(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    let file = normalize(join(rootDir, path));
    if (file !== rootDir && !file.startsWith(rootDir + sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const size = statSync(file).size;
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': size,
        'cache-control': 'no-cache',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve({ server, url: `http://127.0.0.1:${address.port}/` });
    });
  });
}

/** Serves on `port`, or on a free port when that one is taken. */
export async function serveWithFallback(dir, port) {
  try {
    return await serveStatic(dir, port);
  } catch (e) {
    if (e.code !== 'EADDRINUSE' && e.code !== 'EACCES') throw e;
    console.error(`port ${port} is taken: using a free port`);
    return serveStatic(dir, 0);
  }
}

function parsePort(argv) {
  const i = argv.indexOf('--port');
  const given = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--port='))?.slice(7) ?? process.env.PORT;
  if (given === undefined || given === '') return 8173;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`--port: expected a port number (0-65535), got '${given}'`);
    process.exit(2);
  }
  return n;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  if (!argv.includes('--no-build')) {
    const { buildWeb } = await import('./build.mjs');
    await buildWeb();
  }
  const dir = join(root, 'dist', 'web');
  const { url } = await serveWithFallback(dir, parsePort(argv));
  console.log(`wgprune browser benchmark: ${url}  (quick run: ${url}?quick=1; Ctrl-C stops the server)`);
}
