/**
 * ONNX graphs in code, for the backbones and the batched linear-algebra heads. What it owns: the
 * element type codes and their names (data-types.ts), writing a graph as ModelProto bytes
 * onnxruntime loads (onnx-builder.ts: the built-in filter bank, the heads and the inverses are
 * generated, not shipped), and in-memory edits of a loaded model's graph (graph-edit.ts: list its
 * tensors, read its input, expose internal tensors as float32 outputs).
 *
 * What it may import: onnx-proto only, no other module of the core; it knows nothing of PaDiM.
 * backbone/, linalg/, head/, src/bench/, bench/ and test/ import it from here; the modules inside
 * import each other directly.
 */
export { DataType, type DataTypeCode } from './data-types';
export { buildModel, floatTensor, int64Tensor, valueInfo, type NodeSpec } from './onnx-builder';
export { exposeOutputs, inputInfo, listOutputs, listTensors } from './graph-edit';
