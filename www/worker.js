// Few-Shot Lab's compute worker: this app's own wasm, started by the Train, meta-train and
// evolution pages and the Playground so that training, meta-training and adaptation run off
// the page's main thread (src/ui/worker.rs, src/ui/jobs/).
// After each build, scripts/write-service-worker writes in the build's file names.
import init from './__GLUE__';

await init({ module_or_path: './__WASM__' });
