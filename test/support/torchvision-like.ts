/**
 * A generated torchvision-like classifier (Conv/Relu/Add/MaxPool/GlobalAveragePool/Flatten/Gemm,
 * fixed input x 1x3x224x224, opset 16): stages layer1-3 at strides 4/8/16 with 8/16/32 channels.
 */
import { onnx } from 'onnx-proto';
import { buildModel, DataType, floatTensor, valueInfo, type NodeSpec } from '../../src/onnx';

export function torchvisionLike(): Uint8Array {
  const nodes: NodeSpec[] = [];
  const inits: onnx.ITensorProto[] = [];
  let seed = 1;
  const weight = (name: string, out: number, cin: number, k: number) => {
    const n = out * cin * k * k;
    inits.push(
      floatTensor(
        name,
        [out, cin, k, k],
        Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.3),
      ),
    );
    return name;
  };
  const conv = (x: string, out: string, cin: number, cout: number, k: number, stride: number) =>
    nodes.push({
      op: 'Conv',
      inputs: [x, weight(`${out}_w`, cout, cin, k)],
      outputs: [out],
      attributes: { kernel_shape: [k, k], strides: [stride, stride], pads: Array(4).fill((k - 1) / 2) },
    });
  const relu = (x: string, out: string) => nodes.push({ op: 'Relu', inputs: [x], outputs: [out] });
  conv('x', 'c0', 3, 8, 3, 2);
  relu('c0', 'r0');
  nodes.push({
    op: 'MaxPool',
    inputs: ['r0'],
    outputs: ['p0'],
    attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  });
  let x = 'p0';
  let c = 8;
  for (const [i, stride] of [1, 2, 2, 2].entries()) {
    const out = c * stride;
    conv(x, `b${i}a`, c, out, 3, stride);
    relu(`b${i}a`, `b${i}ar`);
    conv(`b${i}ar`, `b${i}b`, out, out, 3, 1);
    let skip = x;
    if (stride !== 1) {
      conv(x, `b${i}d`, c, out, 1, stride);
      skip = `b${i}d`;
    }
    nodes.push({ op: 'Add', inputs: [`b${i}b`, skip], outputs: [`b${i}sum`] });
    relu(`b${i}sum`, `layer${i + 1}`);
    x = `layer${i + 1}`;
    c = out;
  }
  nodes.push({ op: 'GlobalAveragePool', inputs: [x], outputs: ['gap'] });
  nodes.push({ op: 'Flatten', inputs: ['gap'], outputs: ['flat'], attributes: { axis: 1 } });
  inits.push(
    floatTensor('fc_w', [10, c], new Float32Array(10 * c).fill(0.01)),
    floatTensor('fc_b', [10], new Float32Array(10)),
  );
  nodes.push({
    op: 'Gemm',
    inputs: ['flat', 'fc_w', 'fc_b'],
    outputs: ['logits'],
    attributes: { transB: 1 },
  });
  const bytes = buildModel({
    name: 'tv',
    nodes,
    inputs: [valueInfo('x', DataType.FLOAT, [1, 3, 224, 224])],
    outputs: [valueInfo('logits', DataType.FLOAT, [1, 10])],
    initializers: inits,
  });
  const model = onnx.ModelProto.decode(bytes);
  model.opsetImport = [{ domain: '', version: 16 }];
  return onnx.ModelProto.encode(model).finish();
}
