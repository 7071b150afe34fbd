/**
 * A small helper for writing ONNX graphs in code (the built-in filter bank and the
 * batched linear-algebra heads are generated, not shipped). It produces ModelProto
 * bytes that onnxruntime can load directly.
 */
import { onnx } from 'onnx-proto';
import { DataType, type DataTypeCode } from './data-types';

/** A dimension: a fixed size or a symbolic name (dynamic). */
export type Dim = number | string;

export type AttributeValue = number | number[] | string | Float32Array;

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<
    string,
    AttributeValue | { ints: number[] } | { floats: number[] } | { int: number } | { float: number }
  >;
  domain?: string;
  name?: string;
}

export function valueInfo(name: string, elemType: DataTypeCode, shape: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function attribute(
  name: string,
  v: NodeSpec['attributes'] extends Record<string, infer V> | undefined ? V : never,
): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (v instanceof Float32Array) return { name, type: T.FLOATS, floats: Array.from(v) };
  if ('ints' in v) return { name, type: T.INTS, ints: v.ints };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  if ('int' in v) return { name, type: T.INT, i: v.int };
  return { name, type: T.FLOAT, f: v.float };
}

export function node(spec: NodeSpec): onnx.INodeProto {
  return {
    opType: spec.op,
    input: spec.inputs,
    output: spec.outputs,
    name: spec.name ?? `${spec.op}_${spec.outputs[0]}`,
    domain: spec.domain ?? '',
    attribute: Object.entries(spec.attributes ?? {}).map(([k, v]) => attribute(k, v)),
  };
}

/** A constant tensor stored in the graph. */
export function floatTensor(
  name: string,
  dims: number[],
  values: Float32Array | number[],
): onnx.ITensorProto {
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return {
    name,
    dataType: DataType.FLOAT,
    dims,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

export function int64Tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dataType: DataType.INT64, dims, int64Data: values };
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  initializers?: onnx.ITensorProto[];
  /** Extra operator sets, e.g. { 'com.microsoft': 1 } for contrib ops. */
  extraOpsets?: Record<string, number>;
}

/** Standard opset used by every generated graph. */
export const OPSET = 17;

export function buildModel(spec: GraphSpec): Uint8Array {
  const opsetImport: onnx.IOperatorSetIdProto[] = [{ domain: '', version: OPSET }];
  for (const [domain, version] of Object.entries(spec.extraOpsets ?? {}))
    opsetImport.push({ domain, version });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'node-red-padim',
    opsetImport,
    graph: {
      name: spec.name,
      node: spec.nodes.map(node),
      input: spec.inputs,
      output: spec.outputs,
      initializer: spec.initializers ?? [],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
