/**
 * In-memory edits of an ONNX ModelProto, for backbones whose feature maps are hidden inside
 * the graph (a classifier downloaded from a model zoo exposes only its logits).
 *
 * Only what PaDiM needs: list the tensors, read the input's size, and turn internal tensors
 * into float32 graph outputs. Quantised tensors (uint8/int8 outputs of QLinear* operators)
 * are dequantised with the producer's own output scale and zero point, so the features come
 * back in the same units as in the float network; other non-float tensors get a Cast.
 */
import { onnx } from 'onnx-proto';
import { DataType, elemTypeName } from './data-types';

/** protobufjs decodes int64 fields as `Long` objects when long.js is installed. */
type Int64 = number | { toNumber(): number };

function toNumber(v: Int64): number {
  return typeof v === 'number' ? v : v.toNumber();
}

/**
 * Where a quantising operator keeps its *output* scale and zero point (input positions).
 * ONNX standard ops and the com.microsoft contrib ops that ORT's quantiser emits.
 */
const QUANT_OUTPUT_PARAMS: Record<string, { scale: number; zeroPoint: number }> = {
  QuantizeLinear: { scale: 1, zeroPoint: 2 },
  QLinearConv: { scale: 6, zeroPoint: 7 },
  QLinearMatMul: { scale: 6, zeroPoint: 7 },
  QLinearAdd: { scale: 6, zeroPoint: 7 },
  QLinearMul: { scale: 6, zeroPoint: 7 },
  QLinearAveragePool: { scale: 3, zeroPoint: 4 },
  QLinearGlobalAveragePool: { scale: 3, zeroPoint: 4 },
  QLinearLeakyRelu: { scale: 3, zeroPoint: 4 },
  QLinearSigmoid: { scale: 3, zeroPoint: 4 },
  QLinearConcat: { scale: 0, zeroPoint: 1 },
};

/** One tensor computed by a node of the graph. */
export interface TensorInfo {
  name: string;
  /** operator type of the node that produces it */
  opType: string;
  /** ONNX element type code, or null where the file does not say and it cannot be inferred */
  elemType: number | null;
  /** shape from the graph's value_info, when recorded */
  dims: (number | string | null)[] | null;
  /** true for the quantised output of a QLinear* / QuantizeLinear node (dequantised on export) */
  quantised: boolean;
}

/** The network input: name, element type and size per dimension (string = symbolic, null = unknown). */
export interface InputInfo {
  name: string;
  elemType: number;
  dims: (number | string | null)[];
}

export interface ExposeResult {
  /** the edited model, or the original bytes when nothing had to change */
  bytes: Uint8Array;
  /** graph outputs added by the edit */
  added: string[];
  /**
   * For each requested tensor, the graph output that carries it: the tensor itself (float32,
   * or of a type the file does not tell, inferred by onnxruntime), or `<name>_dequantized` /
   * `<name>_float` where a DequantizeLinear / Cast to float32 had to be added.
   */
  outputs: string[];
}

function decode(modelBytes: Uint8Array): onnx.ModelProto {
  const model = onnx.ModelProto.decode(modelBytes);
  if (!model.graph) throw new Error('ONNX model has no graph');
  return model;
}

function dimsOf(type: onnx.ITypeProto | null | undefined): (number | string | null)[] | null {
  const shape = type?.tensorType?.shape;
  if (!shape) return null;
  return (shape.dim ?? []).map((d) => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue !== null && d.dimValue !== undefined) return toNumber(d.dimValue);
    return null;
  });
}

/** Element types declared anywhere in the graph (inputs, outputs, value_info, initializers). */
function declaredTypes(graph: onnx.IGraphProto): Map<string, onnx.IValueInfoProto> {
  const map = new Map<string, onnx.IValueInfoProto>();
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    if (v.name) map.set(v.name, v);
  }
  return map;
}

/**
 * The element type of a quantised output follows its zero point's type (uint8 when the zero
 * point is omitted, as the ONNX spec says).
 */
function quantisedType(node: onnx.INodeProto, types: Map<string, number>): number {
  const params = QUANT_OUTPUT_PARAMS[node.opType ?? ''];
  const zp = params ? node.input?.[params.zeroPoint] : undefined;
  return (zp && types.get(zp)) || DataType.UINT8;
}

const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);
const BOOL_OPS = new Set([
  'Equal',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'And',
  'Or',
  'Xor',
  'Not',
  'IsNaN',
  'IsInf',
]);

function attributeOf(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/**
 * Element type of output `index` of `node`, from the operator's rule; most operators keep
 * their first input's type. Null when that is unknown: the output is then declared without
 * a type and onnxruntime infers it (it accepts that).
 */
function outputType(node: onnx.INodeProto, index: number, types: Map<string, number>): number | null {
  const op = node.opType ?? '';
  const first = types.get(node.input?.[0] ?? '') ?? null;
  if (op in QUANT_OUTPUT_PARAMS) return index === 0 ? quantisedType(node, types) : null;
  if (op === 'DequantizeLinear') return DataType.FLOAT;
  if (op === 'DynamicQuantizeLinear') return index === 1 ? DataType.FLOAT : DataType.UINT8;
  if (INT64_OPS.has(op)) return DataType.INT64;
  if (BOOL_OPS.has(op)) return DataType.BOOL;
  if (op === 'Cast') return Number(attributeOf(node, 'to')?.i ?? 0) || null;
  if (op === 'CastLike') return types.get(node.input?.[1] ?? '') ?? null;
  if (op === 'Constant' || op === 'ConstantOfShape')
    return attributeOf(node, 'value')?.t?.dataType ?? (op === 'Constant' ? null : DataType.FLOAT);
  if ((op === 'TopK' || op === 'MaxPool') && index === 1) return DataType.INT64;
  return first;
}

/** Element type of every tensor: declared in the file where it says, else propagated in graph order. */
function elementTypes(graph: onnx.IGraphProto): Map<string, number> {
  const types = new Map<string, number>();
  for (const t of graph.initializer ?? []) if (t.name && t.dataType) types.set(t.name, t.dataType);
  const declared = declaredTypes(graph);
  for (const [name, vi] of declared) {
    const e = vi.type?.tensorType?.elemType;
    if (e) types.set(name, e);
  }
  // ONNX requires nodes in topological order, so one pass sees every input before its use.
  for (const node of graph.node ?? []) {
    (node.output ?? []).forEach((name, i) => {
      if (!name || types.has(name)) return;
      const e = outputType(node, i, types);
      if (e !== null) types.set(name, e);
    });
  }
  return types;
}

function tensorInfos(graph: onnx.IGraphProto): TensorInfo[] {
  const declared = declaredTypes(graph);
  const types = elementTypes(graph);
  const out: TensorInfo[] = [];
  for (const node of graph.node ?? []) {
    const opType = node.opType ?? '';
    (node.output ?? []).forEach((name, i) => {
      if (!name) return; // optional outputs left empty
      const quantised = opType in QUANT_OUTPUT_PARAMS && i === 0;
      out.push({
        name,
        opType,
        elemType: types.get(name) ?? null,
        dims: dimsOf(declared.get(name)?.type),
        quantised,
      });
    });
  }
  return out;
}

/** Every tensor produced by a node of the model, in graph order. */
export function listTensors(modelBytes: Uint8Array): TensorInfo[] {
  return tensorInfos(decode(modelBytes).graph as onnx.IGraphProto);
}

/** Names of the model's graph outputs, in order. */
export function listOutputs(modelBytes: Uint8Array): string[] {
  return (decode(modelBytes).graph?.output ?? []).map((o) => o.name ?? '');
}

/** The model's (first non-initializer) input: older exporters also list weights as inputs. */
export function inputInfo(modelBytes: Uint8Array): InputInfo {
  const graph = decode(modelBytes).graph as onnx.IGraphProto;
  const weights = new Set((graph.initializer ?? []).map((t) => t.name));
  const input = (graph.input ?? []).find((v) => v.name && !weights.has(v.name));
  if (!input?.name) throw new Error('ONNX model has no input');
  return {
    name: input.name,
    elemType: input.type?.tensorType?.elemType ?? DataType.FLOAT,
    dims: dimsOf(input.type) ?? [],
  };
}

/** Edit distance, for suggesting the names closest to a misspelt one. */
function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** Candidate names, closest first (substring matches count as closest). */
export function closestNames(wanted: string, names: string[], limit = 20): string[] {
  const w = wanted.toLowerCase();
  const score = (n: string): number => {
    const l = n.toLowerCase();
    return l.includes(w) || w.includes(l) ? -1000 + Math.abs(l.length - w.length) : levenshtein(w, l);
  };
  return [...names].sort((a, b) => score(a) - score(b)).slice(0, limit);
}

function missingTensorError(wanted: string, tensors: TensorInfo[], graphName: string): Error {
  const names = tensors.map((t) => t.name);
  const shown = closestNames(wanted, names);
  const more = names.length - shown.length;
  return new Error(
    `tensor '${wanted}' is not computed by any node of ONNX graph '${graphName}'. ` +
      `Available tensors (closest first): ${shown.join(', ')}` +
      (more > 0 ? ` ... and ${more} more (listTensors() lists all)` : ''),
  );
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

function outputInfo(
  name: string,
  elemType: number | null,
  dims: (number | string | null)[] | null,
): onnx.IValueInfoProto {
  // Unknown type: no type at all; unknown shape: a tensor type without `shape`. onnxruntime
  // infers both when the session loads (checked for 1.30).
  if (elemType === null) return { name };
  const tensorType: onnx.TypeProto.ITensor = { elemType };
  if (dims) {
    tensorType.shape = {
      dim: dims.map((d) =>
        typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {},
      ),
    };
  }
  return { name, type: { tensorType } };
}

function defaultOpsetVersion(model: onnx.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain);
  return entry?.version !== null && entry?.version !== undefined ? toNumber(entry.version) : 0;
}

/**
 * Make each named internal tensor a float32 graph output. Tensors that are already float
 * graph outputs are left alone; quantised ones are dequantised, other non-float ones cast.
 * Throws, listing the closest tensor names, when a name is unknown.
 */
export function exposeOutputs(modelBytes: Uint8Array, tensorNames: string[]): ExposeResult {
  const model = decode(modelBytes);
  const graph = model.graph as onnx.GraphProto;
  const tensors = tensorInfos(graph);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const producer = new Map<string, onnx.INodeProto>();
  for (const node of graph.node) for (const o of node.output ?? []) producer.set(o, node);
  const graphOutputs = new Set(graph.output.map((o) => o.name ?? ''));
  const taken = new Set<string>([...tensors.map((t) => t.name), ...graph.input.map((i) => i.name ?? '')]);

  const added: string[] = [];
  const outputs: string[] = [];
  const done = new Map<string, string>();
  for (const wanted of tensorNames) {
    const previous = done.get(wanted);
    if (previous) {
      outputs.push(previous);
      continue;
    }
    const info = byName.get(wanted);
    if (!info) throw missingTensorError(wanted, tensors, graph.name || '(unnamed)');
    if (graphOutputs.has(wanted) && (info.elemType === null || info.elemType === DataType.FLOAT)) {
      outputs.push(wanted);
      done.set(wanted, wanted);
      continue;
    }
    let outName = wanted;
    if (info.quantised) {
      // Dequantise with the producer's own output scale and zero point: the values are then
      // what the float network computed at this point, up to quantisation error.
      const node = producer.get(wanted) as onnx.INodeProto;
      const params = QUANT_OUTPUT_PARAMS[node.opType ?? ''];
      const scale = node.input?.[params.scale];
      const zeroPoint = node.input?.[params.zeroPoint];
      if (!scale)
        throw new Error(
          `tensor '${wanted}' is ${elemTypeName(info.elemType)} from ${node.opType} without an output scale: cannot convert it to float`,
        );
      if (defaultOpsetVersion(model) < 10)
        throw new Error(
          `tensor '${wanted}' is quantised but the model's opset is older than 10 (no DequantizeLinear)`,
        );
      outName = uniqueName(`${wanted}_dequantized`, taken);
      graph.node.push(
        onnx.NodeProto.create({
          opType: 'DequantizeLinear',
          name: `expose_${outName}`,
          input: zeroPoint ? [wanted, scale, zeroPoint] : [wanted, scale],
          output: [outName],
        }),
      );
    } else if (info.elemType !== null && info.elemType !== DataType.FLOAT) {
      // Non-quantised integer or other float precisions: a plain conversion to float32.
      outName = uniqueName(`${wanted}_float`, taken);
      graph.node.push(
        onnx.NodeProto.create({
          opType: 'Cast',
          name: `expose_${outName}`,
          input: [wanted],
          output: [outName],
          attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DataType.FLOAT }],
        }),
      );
    }
    if (!graphOutputs.has(outName)) {
      const elemType = outName === wanted ? info.elemType : DataType.FLOAT;
      graph.output.push(onnx.ValueInfoProto.create(outputInfo(outName, elemType, info.dims)));
      graphOutputs.add(outName);
      added.push(outName);
    }
    outputs.push(outName);
    done.set(wanted, outName);
  }
  if (added.length === 0) return { bytes: modelBytes, added, outputs };
  return { bytes: onnx.ModelProto.encode(model).finish(), added, outputs };
}
