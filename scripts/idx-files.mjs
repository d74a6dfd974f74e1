// What the MNIST and Fashion-MNIST converters share: IDX buffers, the order
// that interleaves classes, and writing files so a half-written one never
// looks valid.
import fs from 'node:fs';
import path from 'node:path';

// An empty uint8 IDX pair of `total` items of rows x cols: big-endian magic
// 0x0000 0x08 (uint8) <ndims>, then one uint32 per dimension.
export function idxBuffers(total, rows, cols) {
  const images = Buffer.alloc(16 + total * rows * cols);
  images.writeUInt32BE(0x00000803, 0);
  images.writeUInt32BE(total, 4);
  images.writeUInt32BE(rows, 8);
  images.writeUInt32BE(cols, 12);
  const labels = Buffer.alloc(8 + total);
  labels.writeUInt32BE(0x00000801, 0);
  labels.writeUInt32BE(total, 4);
  return { images, labels };
}

// Classes interleaved in proportion, so that any slice holds every class: the
// k-th of a class's n items goes to position (k + 0.5) / n, ties in class
// order. `counts[c]` is how many items class c has; returns [{ c, k }].
export function interleavedOrder(counts) {
  const order = [];
  counts.forEach((n, c) => {
    for (let k = 0; k < n; k++) order.push({ c, k, key: (k + 0.5) / n });
  });
  order.sort((a, b) => a.key - b.key || a.c - b.c);
  return order.map(({ c, k }) => ({ c, k }));
}

// Writes each [name, buffer] beside its target and renames it into place.
export function writeFilesAtomically(dir, files) {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, buffer] of files) {
    const target = path.join(dir, name);
    fs.writeFileSync(`${target}.part`, buffer);
    fs.renameSync(`${target}.part`, target);
  }
}
