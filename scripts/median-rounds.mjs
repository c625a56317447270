// Reads benchmark JSON lines (one file, several rounds of the same figures) and prints one line
// per figure — the same bench, backend, adapter, batch and setting — in the order the figures
// first appear: the first round's line with the median value of all rounds and `rounds`, how
// many there were. Used by scripts/bench (ROUNDS=N).
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
if (lines.length === 0) {
  console.error(`${process.argv[2]}: no figures to take medians of`);
  process.exit(1);
}
const figures = new Map();
for (const line of lines) {
  const key = JSON.stringify([line.bench, line.backend, line.adapter, line.batch, line.setting]);
  if (!figures.has(key)) figures.set(key, { first: line, values: [] });
  figures.get(key).values.push(line.value);
}
for (const { first, values } of figures.values()) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  console.log(JSON.stringify({ ...first, value: median, rounds: values.length }));
}
