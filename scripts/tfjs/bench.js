// The reference CNN of src/model/reference.rs in TF.js ops — standardise → Conv2d(1→32, 3×3)
// → ReLU → MaxPool 2×2 → Dense(5408→64) → ReLU → Dense(64→10) — timed as src/bench.rs times
// ours: Adam steps at batch 64 on synthetic images, reading the loss back after each step; a
// forward pass at batch 1 and 64, from upload to the read-back of the logits' sum. Medians
// after warm-up; the figures are printed as the same JSON lines as our ?bench page's.
/* global tf */
const params = new URLSearchParams(location.search);
const BACKEND = params.get('backend') ?? 'cpu';
const STEPS = Number(params.get('steps') ?? 20);
const REPEATS = Number(params.get('repeats') ?? 20);
const WARM_UP = 2;
const BATCH = 64;
const output = document.querySelector('#bench-output');

const weights = () => ({
  conv: tf.variable(tf.randomNormal([3, 3, 1, 32], 0, 0.3)),
  convBias: tf.variable(tf.zeros([32])),
  hidden: tf.variable(tf.randomNormal([5408, 64], 0, 0.02)),
  hiddenBias: tf.variable(tf.zeros([64])),
  output: tf.variable(tf.randomNormal([64, 10], 0, 0.1)),
  outputBias: tf.variable(tf.zeros([10])),
});

function forward(w, images) {
  const x = tf.div(tf.sub(images, 0.1307), 0.3081);
  const conv = tf.relu(tf.add(tf.conv2d(x, w.conv, 1, 'valid'), w.convBias));
  const pooled = tf.reshape(tf.maxPool(conv, 2, 2, 'valid'), [-1, 5408]);
  const hidden = tf.relu(tf.add(tf.matMul(pooled, w.hidden), w.hiddenBias));
  return tf.add(tf.matMul(hidden, w.output), w.outputBias);
}

const synthetic = (n) => tf.randomUniform([n, 28, 28, 1]);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function line(bench, batch, value, unit, repeats) {
  const adapter = `TF.js ${tf.version_core}, ${tf.getBackend()} backend`;
  return JSON.stringify({ bench, backend: 'tfjs', adapter, batch, setting: '', value, unit, repeats });
}

async function train(w) {
  const optimizer = tf.train.adam(1e-3);
  const images = synthetic(BATCH);
  const labels = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32'), 10);
  let started = 0;
  for (let step = 0; step < WARM_UP + STEPS; step++) {
    if (step === WARM_UP) started = performance.now();
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, forward(w, images)), true);
    await loss.data();
    loss.dispose();
  }
  const seconds = (performance.now() - started) / 1e3;
  return line('train_images_per_s', BATCH, (STEPS * BATCH) / seconds, 'images/s', STEPS);
}

async function latency(w, batch) {
  const pixels = new Float32Array(batch * 784).map(() => Math.random());
  const times = [];
  for (let repeat = 0; repeat < WARM_UP + REPEATS; repeat++) {
    const started = performance.now();
    const sum = tf.tidy(() => tf.sum(forward(w, tf.tensor4d(pixels, [batch, 28, 28, 1]))));
    await sum.data();
    sum.dispose();
    if (repeat >= WARM_UP) times.push(performance.now() - started);
  }
  return line('forward_latency_ms', batch, median(times), 'ms (median)', REPEATS);
}

async function main() {
  if (BACKEND === 'wasm') tf.wasm.setWasmPaths('node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  if (!(await tf.setBackend(BACKEND))) throw new Error(`TF.js could not start its ${BACKEND} backend`);
  await tf.ready();
  const w = weights();
  const lines = [];
  try {
    lines.push(await train(w));
  } catch (error) {
    // The wasm backend has no convolution gradient kernels: it serves forward passes only.
    console.warn(`no training on ${BACKEND}: ${error.message}`);
  }
  lines.push(await latency(w, 1), await latency(w, BATCH));
  output.textContent = lines.join('\n');
  output.dataset.state = 'done';
}

// After the load event: on the cpu backend the whole run is one chain of promise callbacks that
// would hold the load event back until it ends.
addEventListener('load', () =>
  setTimeout(() =>
    main().catch((error) => {
      output.textContent = `error: ${error.message ?? error}`;
      output.dataset.state = 'failed';
    }),
  ),
);
