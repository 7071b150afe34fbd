/**
 * The device head's ONNX graph: the Mahalanobis distance of a group of chunks of grid cells,
 * with each chunk's mean and inverse covariance stored in the graph as initializers. The
 * session that loads it copies them to the execution provider's memory once; a run then
 * sends only the embeddings ([n, B, d] per chunk) and gets the distances ([n, B]) back.
 *
 * Per chunk i (inputs X<i>, output M<i>, initializers MU<i> [n, 1, d] and P<i> [n, d, d]):
 *   D = X - MU;  S = sum_k (P D^T)_k * D^T_k  (or (D P) * D, see HeadArrangement);  M = sqrt(max(0, S))
 *
 * Each chunk stays its own initializer (about 32 MB, model.ts defaultChunkCells) rather than
 * one tensor for the whole group: no JavaScript copy is made to join them, and every tensor
 * stays below WebGPU's default storage-buffer binding limit (128 MiB).
 */
import type { onnx } from 'onnx-proto';
import { buildModel, DataType, floatTensor, int64Tensor, valueInfo, type NodeSpec } from '../onnx';

/**
 * Which operand the inverse covariance is in the batched product: 'precision-left' computes
 * P D^T ([n, d, d] x [n, d, B]), 'precision-right' D P ([n, B, d] x [n, d, d]).
 */
export type HeadArrangement = 'precision-left' | 'precision-right';

/** One chunk of cells as stored in the model: its cells' means and inverse covariances. */
export interface HeadChunk {
  /** cells in the chunk */
  cells: number;
  /** [cells, d] float32 */
  mean: Float32Array;
  /** [cells, d, d] float32 */
  precision: Float32Array;
}

function chunkNodes(i: number, arrangement: HeadArrangement): NodeSpec[] {
  const [x, mu, p, m] = [`X${i}`, `MU${i}`, `P${i}`, `M${i}`];
  const diff = `D${i}`;
  const product: NodeSpec[] =
    arrangement === 'precision-left'
      ? [
          { op: 'Transpose', inputs: [diff], outputs: [`Dt${i}`], attributes: { perm: [0, 2, 1] } },
          { op: 'MatMul', inputs: [p, `Dt${i}`], outputs: [`PD${i}`] },
          { op: 'Mul', inputs: [`PD${i}`, `Dt${i}`], outputs: [`Q${i}`] },
          { op: 'ReduceSum', inputs: [`Q${i}`, 'axis1'], outputs: [`S${i}`], attributes: { keepdims: 0 } },
        ]
      : [
          { op: 'MatMul', inputs: [diff, p], outputs: [`DP${i}`] },
          { op: 'Mul', inputs: [`DP${i}`, diff], outputs: [`Q${i}`] },
          { op: 'ReduceSum', inputs: [`Q${i}`, 'axis2'], outputs: [`S${i}`], attributes: { keepdims: 0 } },
        ];
  return [
    { op: 'Sub', inputs: [x, mu], outputs: [diff] },
    ...product,
    // rounding can make a tiny quadratic form negative: clamp before the square root
    { op: 'Relu', inputs: [`S${i}`], outputs: [`S0${i}`] },
    { op: 'Sqrt', inputs: [`S0${i}`], outputs: [m] },
  ];
}

/** Bytes of a chunk's initializers (what the graph and the device hold for it). */
export function chunkBytes(chunk: HeadChunk): number {
  return chunk.mean.byteLength + chunk.precision.byteLength;
}

/**
 * ModelProto bytes for a group of chunks. The initializers' raw data are views of the
 * model's arrays until protobuf encodes them: the returned bytes are the only copy made.
 */
export function deviceHeadGraph(chunks: HeadChunk[], dims: number, arrangement: HeadArrangement): Uint8Array {
  // the reduced axis: 1 of P D^T [n, d, B], 2 of D P [n, B, d]
  const axis = arrangement === 'precision-left' ? 1 : 2;
  const initializers: onnx.ITensorProto[] = [int64Tensor(`axis${axis}`, [1], [axis])];
  const nodes: NodeSpec[] = [];
  chunks.forEach((c, i) => {
    initializers.push(floatTensor(`MU${i}`, [c.cells, 1, dims], c.mean));
    initializers.push(floatTensor(`P${i}`, [c.cells, dims, dims], c.precision));
    nodes.push(...chunkNodes(i, arrangement));
  });
  return buildModel({
    name: 'padim-device-head',
    nodes,
    initializers,
    inputs: chunks.map((c, i) => valueInfo(`X${i}`, DataType.FLOAT, [c.cells, 'B', dims])),
    outputs: chunks.map((c, i) => valueInfo(`M${i}`, DataType.FLOAT, [c.cells, 'B'])),
  });
}
