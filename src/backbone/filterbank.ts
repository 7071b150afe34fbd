/**
 * `builtin:filterbank`: a weight-free backbone generated as an ONNX graph.
 *
 * It lets PaDiM run with no downloaded model at all (first use, air-gapped machines, tests),
 * and is fast enough for small CPUs. The features are classical texture descriptors, one
 * bank per scale of a Gaussian pyramid, so that each stage plays the role of a CNN stage:
 *
 *   scale1: full resolution,  filters sigma 1 px,  averaged to stride 4
 *   scale2: 1/2 resolution,   sigma 2 input px,    stride 8
 *   scale3: 1/4 resolution,   sigma 4 input px,    stride 16
 *
 * Per stage (20 channels), on an opponent colour image (luminance, red-green, blue-yellow):
 *   0-2   mean colour in the cell                 (colour changes, missing material)
 *   3-5   local standard deviation of each colour (contrast, texture strength)
 *   6-9   |1st derivative of Gaussian| of luminance at 0, 45, 90, 135 deg  (edges, scratches)
 *   10-13 |2nd derivative of Gaussian| of luminance at 0, 45, 90, 135 deg  (thin lines, ridges)
 *   14-15 Laplacian of Gaussian split by sign: dark spots, bright spots   (spots, pits)
 *   16-19 |d/dx|, |d/dy| of red-green and blue-yellow                     (colour edges)
 *
 * Rectified energies are averaged over the cell (overlapping 8x8 window at the stage's
 * resolution, stride 4), which is what makes them texture statistics rather than edges.
 * Borders are padded by replicating the edge, so a constant image gives constant features
 * everywhere. Values are scaled like CNN activations (see CONTRAST_UNIT), so PaDiM's
 * covariance regulariser (eps = 0.01) does not swamp them.
 */
import { buildModel, floatTensor, int64Tensor, valueInfo, DataType, type NodeSpec } from '../onnx';
import { IMAGENET_NORMALISATION } from '../types';
import type { onnx } from 'onnx-proto';

export const FILTERBANK_LAYERS: [string, string, string] = ['scale1', 'scale2', 'scale3'];
export const FILTERBANK_CHANNELS = 20;

/** Radius of the luminance filters (7x7): 3 sigma at sigma = 1 pixel of the pyramid level. */
const RADIUS = 3;
/**
 * Colour-edge filters are 5x5 (the same sigma, cut at 2 sigma): colour is less detailed than
 * luminance in camera images, and the full-resolution colour conv was the costliest node.
 */
const CHROMA_RADIUS = 2;
/**
 * Brightness difference (on the [0,1] scale) that is one feature unit: a tenth of ImageNet's
 * pixel standard deviation. Every node after the colour conversion is positively homogeneous
 * (convolution, |x|, ReLU, averaging, standard deviation), so this one constant scales all
 * features. With it, good images of MVTec bottle vary by 0.1-1 per cell and channel, above
 * PaDiM's covariance regulariser (eps = 0.01, i.e. 0.1 in standard deviation), which would
 * otherwise hide most of the variation (at 0.225 the per-cell spread was 0.01-0.1).
 */
const CONTRAST_UNIT = 0.0225;
const ORIENTATIONS = [0, 45, 90, 135].map((d) => (d * Math.PI) / 180);

/** A 2D kernel as a function of (x = column offset, y = row offset). */
type Kernel = Float64Array;

function kernelFrom(f: (x: number, y: number) => number, radius = RADIUS): Kernel {
  const size = 2 * radius + 1;
  const k = new Float64Array(size * size);
  for (let y = -radius; y <= radius; y++) {
    for (let x = -radius; x <= radius; x++) k[(y + radius) * size + (x + radius)] = f(x, y);
  }
  return k;
}

const gauss = (t: number): number => Math.exp(-(t * t) / 2);
const dGauss = (t: number): number => -t * gauss(t);
const ddGauss = (t: number): number => (t * t - 1) * gauss(t);

/**
 * Remove the DC response (a truncated 2nd derivative does not sum to zero, and a flat image
 * must give zero energy), then scale to L1 norm 2: a unit step across the filter gives ~1.
 */
function normalise(k: Kernel): Kernel {
  const mean = k.reduce((a, b) => a + b, 0) / k.length;
  const out = k.map((v) => v - mean);
  const l1 = out.reduce((a, b) => a + Math.abs(b), 0);
  return out.map((v) => (2 * v) / l1);
}

/** Steered first derivative of Gaussian along angle theta (x to the right, y down). */
function firstDerivative(theta: number): Kernel {
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  return normalise(kernelFrom((x, y) => c * dGauss(x) * gauss(y) + s * gauss(x) * dGauss(y)));
}

/** Steered second derivative of Gaussian (responds to lines perpendicular to theta). */
function secondDerivative(theta: number): Kernel {
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  return normalise(
    kernelFrom(
      (x, y) =>
        c * c * ddGauss(x) * gauss(y) + 2 * c * s * dGauss(x) * dGauss(y) + s * s * gauss(x) * ddGauss(y),
    ),
  );
}

function laplacianOfGaussian(): Kernel {
  return normalise(kernelFrom((x, y) => ddGauss(x) * gauss(y) + gauss(x) * ddGauss(y)));
}

/** Luminance filters: d1 x4, d2 x4, LoG, -LoG (the sign pair becomes bright / dark spots). */
function luminanceBank(): Kernel[] {
  const log = laplacianOfGaussian();
  return [
    ...ORIENTATIONS.map(firstDerivative),
    ...ORIENTATIONS.map(secondDerivative),
    log,
    log.map((v) => -v),
  ];
}

/** Weights [out, 1, k, k] from one kernel per output channel. */
function convWeights(kernels: Kernel[]): Float32Array {
  const w = new Float32Array(kernels.length * kernels[0].length);
  kernels.forEach((k, o) => w.set(k, o * k.length));
  return w;
}

/** Colour-edge filters: d/dx, d/dy for red-green, then the same for blue-yellow (group 2). */
function chromaBank(): Kernel[] {
  const dx = normalise(kernelFrom((x, y) => dGauss(x) * gauss(y), CHROMA_RADIUS));
  const dy = normalise(kernelFrom((x, y) => gauss(x) * dGauss(y), CHROMA_RADIUS));
  return [dx, dy, dx, dy];
}

/**
 * 1x1 conv from the ImageNet-normalised input to opponent colour (L, R-G, B-(R+G)/2), in
 * units of CONTRAST_UNIT. The mean colour is dropped (no bias): it is a constant per channel
 * and only keeps the numbers near zero, which helps the E[x^2] - E[x]^2 variance in float32.
 */
function opponentWeights(): Float32Array {
  const { std } = IMAGENET_NORMALISATION;
  const rows = [
    [0.299, 0.587, 0.114],
    [1, -1, 0],
    [-0.5, -0.5, 1],
  ];
  return Float32Array.from(rows.flatMap((r) => r.map((v, c) => (v * std[c]) / CONTRAST_UNIT)));
}

/**
 * Binomial 3x3 low-pass, applied depthwise after a 2x2 average: together the [1,3,3,1]/8
 * filter of one Gaussian-pyramid step, centred on the half-pixel grid like a stride-2 CNN.
 */
function pyramidWeights(channels: number): Float32Array {
  const b = [1, 2, 1].map((v) => v / 4);
  const k = b.flatMap((u) => b.map((v) => u * v));
  return Float32Array.from({ length: channels * 9 }, (_, i) => k[i % 9]);
}

/** Replicate-pad H and W by r on each side (NCHW). */
function edgePad(input: string, output: string, padsName: string): NodeSpec {
  return { op: 'Pad', inputs: [input, padsName], outputs: [output], attributes: { mode: 'edge' } };
}

function padsTensor(name: string, r: number): onnx.ITensorProto {
  return int64Tensor(name, [8], [0, 0, r, r, 0, 0, r, r]);
}

/** The feature bank of one stage, computed on the pyramid level `level` (3 channels). */
function stageNodes(level: string, out: string): NodeSpec[] {
  const p = `${out}_`;
  // channel order of the stage output (see the table at the top)
  const pieces = ['level', 'sq', 'orient_abs', 'spots', 'chroma_abs'];
  return [
    { op: 'Identity', inputs: [level], outputs: [`${p}level`] },
    {
      op: 'Split',
      inputs: [level, 'split_1_2'],
      outputs: [`${p}lum`, `${p}chroma`],
      attributes: { axis: 1 },
    },
    edgePad(`${p}lum`, `${p}lum_pad`, 'pads_r3'),
    {
      op: 'Conv',
      inputs: [`${p}lum_pad`, 'w_lum'],
      outputs: [`${p}lum_resp`],
      attributes: { kernel_shape: [7, 7] },
    },
    {
      op: 'Split',
      inputs: [`${p}lum_resp`, 'split_8_2'],
      outputs: [`${p}orient`, `${p}log`],
      attributes: { axis: 1 },
    },
    { op: 'Abs', inputs: [`${p}orient`], outputs: [`${p}orient_abs`] },
    { op: 'Relu', inputs: [`${p}log`], outputs: [`${p}spots`] },
    edgePad(`${p}chroma`, `${p}chroma_pad`, 'pads_r2'),
    {
      op: 'Conv',
      inputs: [`${p}chroma_pad`, 'w_chroma'],
      outputs: [`${p}chroma_resp`],
      attributes: { kernel_shape: [5, 5], group: 2 },
    },
    { op: 'Abs', inputs: [`${p}chroma_resp`], outputs: [`${p}chroma_abs`] },
    { op: 'Mul', inputs: [level, level], outputs: [`${p}sq`] },
    // The overlapping 8x8 window with stride 4 is done as an aligned 2x2 average (one per
    // piece, so nothing is concatenated at full resolution) and then a 4x4 window with
    // stride 2 on the half-size grid: the same window, at half the cost of one 8x8 pool.
    ...pieces.map((piece) => ({
      op: 'AveragePool',
      inputs: [`${p}${piece}`],
      outputs: [`${p}${piece}_half`],
      attributes: { kernel_shape: [2, 2], strides: [2, 2] },
    })),
    {
      op: 'Concat',
      inputs: pieces.map((piece) => `${p}${piece}_half`),
      outputs: [`${p}dense`],
      attributes: { axis: 1 },
    },
    {
      op: 'AveragePool',
      inputs: [`${p}dense`],
      outputs: [`${p}pooled`],
      attributes: { kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 0 },
    },
    {
      op: 'Split',
      inputs: [`${p}pooled`, 'split_3_3_14'],
      outputs: [`${p}mean`, `${p}meansq`, `${p}energy`],
      attributes: { axis: 1 },
    },
    { op: 'Mul', inputs: [`${p}mean`, `${p}mean`], outputs: [`${p}mean2`] },
    { op: 'Sub', inputs: [`${p}meansq`, `${p}mean2`], outputs: [`${p}var`] },
    // Rounding can make a zero variance slightly negative: clamp before the square root.
    { op: 'Relu', inputs: [`${p}var`], outputs: [`${p}var_pos`] },
    { op: 'Sqrt', inputs: [`${p}var_pos`], outputs: [`${p}std`] },
    { op: 'Concat', inputs: [`${p}mean`, `${p}std`, `${p}energy`], outputs: [out], attributes: { axis: 1 } },
  ];
}

/** Next pyramid level from the 2x2 average that the previous stage computes anyway. */
function pyramidStep(previousStage: string, output: string): NodeSpec[] {
  return [
    edgePad(`${previousStage}_level_half`, `${output}_pad`, 'pads_r1'),
    {
      op: 'Conv',
      inputs: [`${output}_pad`, 'w_pyramid'],
      outputs: [output],
      attributes: { kernel_shape: [3, 3], group: 3 },
    },
  ];
}

export interface FilterBank {
  bytes: Uint8Array;
  layers: [string, string, string];
  stageChannels: [number, number, number];
}

/** Generate the filter-bank backbone (deterministic: same bytes, same sha256, every time). */
export function buildFilterBank(): FilterBank {
  const [s1, s2, s3] = FILTERBANK_LAYERS;
  const lum = luminanceBank();
  const chroma = chromaBank();
  const nodes: NodeSpec[] = [
    {
      op: 'Conv',
      inputs: ['input', 'w_opponent'],
      outputs: ['level0'],
      attributes: { kernel_shape: [1, 1] },
    },
    ...stageNodes('level0', s1),
    ...pyramidStep(s1, 'level1'),
    ...stageNodes('level1', s2),
    ...pyramidStep(s2, 'level2'),
    ...stageNodes('level2', s3),
  ];
  const outDims = (name: string) =>
    valueInfo(name, DataType.FLOAT, ['N', FILTERBANK_CHANNELS, `${name}_H`, `${name}_W`]);
  const bytes = buildModel({
    name: 'padim_filterbank',
    nodes,
    inputs: [valueInfo('input', DataType.FLOAT, ['N', 3, 'H', 'W'])],
    outputs: [outDims(s1), outDims(s2), outDims(s3)],
    initializers: [
      floatTensor('w_opponent', [3, 3, 1, 1], opponentWeights()),
      floatTensor('w_pyramid', [3, 1, 3, 3], pyramidWeights(3)),
      floatTensor('w_lum', [lum.length, 1, 7, 7], convWeights(lum)),
      // group 2: outputs 0,1 see red-green, outputs 2,3 see blue-yellow
      floatTensor('w_chroma', [chroma.length, 1, 5, 5], convWeights(chroma)),
      padsTensor('pads_r3', RADIUS),
      padsTensor('pads_r2', CHROMA_RADIUS),
      padsTensor('pads_r1', 1),
      int64Tensor('split_1_2', [2], [1, 2]),
      int64Tensor('split_8_2', [2], [8, 2]),
      int64Tensor('split_3_3_14', [3], [3, 3, 14]),
    ],
  });
  return {
    bytes,
    layers: [s1, s2, s3],
    stageChannels: [FILTERBANK_CHANNELS, FILTERBANK_CHANNELS, FILTERBANK_CHANNELS],
  };
}
