// A minimal static file server for dist/ on 127.0.0.1, used by the end-to-end tests.
// `/corrupt-mnist/` serves the real manifest but a shard with one flipped byte, and
// `/missing-weights/` serves the app with every weights file missing (404), so the tests can
// check what a person sees when a download is damaged or fails. `/held-mnist/` serves the
// first train and test shards at once and holds the others until `releaseShards` is called.
// `/course/app/` serves the app from a sub-path, as a course site would; `setRoot` swaps the
// served build (a new deployment).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.json': 'application/json',
  '.png': 'image/png',
};

export async function serve(servedRoot) {
  let root = servedRoot;
  let releaseShards;
  const released = new Promise((resolve) => { releaseShards = resolve; });
  const server = createServer(async (request, response) => {
    let path = decodeURIComponent(new URL(request.url, 'http://x').pathname);
    if (path.startsWith('/course/app/')) path = path.slice('/course/app'.length);
    if (path.startsWith('/held-mnist/')) {
      path = path.replace('/held-mnist/', '/static/mnist/');
      if (path.endsWith('.shard') && !/-000\.shard$/.test(path)) await released;
    }
    const corrupt = path.startsWith('/corrupt-mnist/');
    if (corrupt) path = path.replace('/corrupt-mnist/', '/static/mnist/');
    if (path.startsWith('/missing-weights/')) {
      if (path.endsWith('.bpk')) {
        response.writeHead(404).end('not found');
        return;
      }
      path = path.replace('/missing-weights/', '/');
    }
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(root, path));
    if (!file.startsWith(normalize(root))) {
      response.writeHead(403).end();
      return;
    }
    try {
      let body = await readFile(file);
      if (corrupt && path.endsWith('.shard')) {
        body = Buffer.from(body);
        body[body.length >> 1] ^= 0xff;
      }
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      response.end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    setRoot: (next) => {
      root = next;
    },
    releaseShards: () => releaseShards(),
    close: () => server.close(),
  };
}
