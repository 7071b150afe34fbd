/**
 * A stand-in backbone generated in memory: four convolutions with seeded random weights
 * whose three stage outputs have ResNet's strides (4, 8, 16) and, by default, ResNet50's
 * stage-1..3 widths (256, 512, 1024: D = 1792, enough for d = 550). It lets the GPU check
 * time a backbone of realistic size and compare CPU and GPU numbers on a machine that has
 * no model files (nothing to ship in the bundle). Its features mean nothing: it is for
 * timing and for checking that two providers compute the same numbers, not for accuracy.
 */
import * as fs from 'node:fs';
import { buildModel, DataType, floatTensor, valueInfo, type NodeSpec } from '../onnx';
import { gaussianSample, seededRng } from '../math/random';

export interface GeneratedBackboneOptions {
  /** channels of stages 1..3; default [256, 512, 1024] */
  widths?: [number, number, number];
  /** channels of the stride-4 stem; default 64 */
  stem?: number;
  seed?: number;
}

export const GENERATED_LAYERS: [string, string, string] = ['stage1', 'stage2', 'stage3'];

/** He-initialised weights [out, in, k, k]: activations keep their scale through ReLUs. */
function convWeights(name: string, out: number, inC: number, k: number, rng: () => number) {
  const w = new Float32Array(out * inC * k * k);
  const scale = Math.sqrt(2 / (inC * k * k));
  for (let i = 0; i < w.length; i++) w[i] = gaussianSample(rng) * scale;
  return floatTensor(name, [out, inC, k, k], w);
}

/** ONNX bytes of the generated backbone: input `x` [N, 3, H, W], outputs stage1..stage3. */
export function generatedBackbone(opts: GeneratedBackboneOptions = {}): Uint8Array {
  const [c1, c2, c3] = opts.widths ?? [256, 512, 1024];
  const stem = opts.stem ?? 64;
  const rng = seededRng(opts.seed ?? 1);
  const layers: { name: string; inC: number; out: number; k: number; stride: number; pad: number }[] = [
    { name: 'stem', inC: 3, out: stem, k: 4, stride: 4, pad: 0 },
    { name: 'stage1', inC: stem, out: c1, k: 3, stride: 1, pad: 1 },
    { name: 'stage2', inC: c1, out: c2, k: 2, stride: 2, pad: 0 },
    { name: 'stage3', inC: c2, out: c3, k: 2, stride: 2, pad: 0 },
  ];
  const nodes: NodeSpec[] = [];
  let input = 'x';
  for (const l of layers) {
    nodes.push({
      op: 'Conv',
      inputs: [input, `${l.name}_w`],
      outputs: [`${l.name}_conv`],
      attributes: {
        kernel_shape: [l.k, l.k],
        strides: [l.stride, l.stride],
        pads: [l.pad, l.pad, l.pad, l.pad],
      },
    });
    nodes.push({ op: 'Relu', inputs: [`${l.name}_conv`], outputs: [l.name] });
    input = l.name;
  }
  return buildModel({
    name: 'generated-backbone',
    nodes,
    initializers: layers.map((l) => convWeights(`${l.name}_w`, l.out, l.inC, l.k, rng)),
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 3, 'H', 'W'])],
    outputs: GENERATED_LAYERS.map((name, s) =>
      valueInfo(name, DataType.FLOAT, ['N', [c1, c2, c3][s], `H${s}`, `W${s}`]),
    ),
  });
}

/** Writes the generated backbone to `file` (an .onnx path) and returns the path. */
export function writeGeneratedBackbone(file: string, opts: GeneratedBackboneOptions = {}): string {
  fs.writeFileSync(file, generatedBackbone(opts));
  return file;
}
