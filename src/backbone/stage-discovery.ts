/**
 * Any classifier becomes a PaDiM backbone: find the three stage tensors by stride, prune the
 * graph after them (the classifier head is dropped) and make the input's height and width
 * dynamic, so a zoo export fixed at 224x224 keeps an image's aspect.
 *
 * A stage is "the end of the last block before a downsampling": a tensor that is the only live
 * value of the network at the point it is computed (a cut: every later node depends on earlier
 * work only through it), preferably the sum of a residual block. Strides are measured by one
 * onnxruntime run at the network's own input size, never guessed from names.
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { DataType, exposeOutputs, inputInfo, listTensors } from '../onnx';

/** A tensor that could serve as a stage, with its measured shape. */
export interface StageCandidate {
  name: string;
  /** operator that computes it */
  opType: string;
  channels: number;
  /** spatial size at the probe input */
  height: number;
  width: number;
  /** input side / feature side, rounded to a power of two */
  stride: number;
  /** the sum of a residual block (or a shape-keeping op right after one) */
  residual: boolean;
}

export interface Discovery {
  /** every cut tensor with a 4-D float (or quantised) value, in graph order */
  candidates: StageCandidate[];
  /** the chosen stages at strides 4, 8 and 16 */
  stages: [StageCandidate, StageCandidate, StageCandidate];
  /** the size the strides were measured at */
  probe: { width: number; height: number };
}

/** Per-channel or elementwise ops that keep a residual sum a residual sum. */
const SHAPE_KEEPING = new Set([
  'Relu',
  'Clip',
  'LeakyRelu',
  'BatchNormalization',
  'HardSwish',
  'Identity',
  'QuantizeLinear',
  'DequantizeLinear',
  'QLinearLeakyRelu',
]);
const SUMS = new Set(['Add', 'Sum', 'QLinearAdd']);
/** Ops whose outputs carry no features (shape arithmetic), like constants. */
const METADATA_OPS = new Set(['Constant', 'Shape', 'Size', 'ConstantOfShape']);

type Graph = onnx.IGraphProto;

function decodeGraph(bytes: Uint8Array): { model: onnx.ModelProto; graph: onnx.GraphProto } {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new Error(`not a readable ONNX model: ${(err as Error).message}`);
  }
  if (!model.graph) throw new Error('ONNX model has no graph');
  return { model, graph: model.graph as onnx.GraphProto };
}

/** Tensors that do not depend on the image: weights, constants and shape arithmetic. */
function constantTensors(graph: Graph): Set<string> {
  const constant = new Set<string>((graph.initializer ?? []).map((t) => t.name ?? ''));
  for (const node of graph.node ?? []) {
    const inputs = (node.input ?? []).filter(Boolean);
    if (METADATA_OPS.has(node.opType ?? '') || inputs.every((i) => constant.has(i))) {
      for (const o of node.output ?? []) if (o) constant.add(o);
    }
  }
  return constant;
}

interface Cut {
  name: string;
  opType: string;
  residual: boolean;
}

/**
 * Cut tensors in graph order: after the node that computes one, no other image-dependent
 * tensor computed so far is still needed. ONNX keeps nodes in topological order, so one pass
 * with each tensor's last use is enough.
 */
export function findCuts(graph: Graph): Cut[] {
  const nodes = graph.node ?? [];
  const constant = constantTensors(graph);
  const lastUse = new Map<string, number>();
  nodes.forEach((n, i) => (n.input ?? []).forEach((name) => name && lastUse.set(name, i)));
  // a graph output no later node reads is still a result: it may be a cut, and it keeps nothing
  // live (the rebuilt test networks expose their stages and logits side by side)
  for (const o of graph.output ?? []) if (o.name && !lastUse.has(o.name)) lastUse.set(o.name, -1);
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) if (o) producer.set(o, n);
  const isResidual = (name: string): boolean => {
    // walk back through shape-keeping ops to a sum
    for (let node = producer.get(name), steps = 0; node && steps < 8; steps++) {
      const op = node.opType ?? '';
      if (SUMS.has(op)) return true;
      if (!SHAPE_KEEPING.has(op)) return false;
      node = producer.get((node.input ?? []).find((i) => i && !constant.has(i)) ?? '');
    }
    return false;
  };
  // the latest use of any image-dependent tensor computed before node i
  let liveUntil = -1;
  for (const input of graph.input ?? []) {
    if (input.name && !constant.has(input.name))
      liveUntil = Math.max(liveUntil, lastUse.get(input.name) ?? -1);
  }
  const cuts: Cut[] = [];
  nodes.forEach((node, i) => {
    const outputs = (node.output ?? []).filter((o) => o && !constant.has(o));
    const used = outputs.filter((o) => lastUse.has(o));
    if (liveUntil <= i && used.length === 1) {
      cuts.push({ name: used[0], opType: node.opType ?? '', residual: isResidual(used[0]) });
    }
    for (const o of used) liveUntil = Math.max(liveUntil, lastUse.get(o) ?? -1);
  });
  return cuts;
}

/** The input size strides are measured at: the network's own when fixed, else 224x224. */
function probeSize(bytes: Uint8Array): { batch: number; width: number; height: number; name: string } {
  const info = inputInfo(bytes);
  if (info.elemType !== DataType.FLOAT)
    throw new Error(`input '${info.name}' is not float32: an image input is needed`);
  const [n, c, h, w] = info.dims;
  if (info.dims.length !== 4 || (typeof c === 'number' && c !== 3)) {
    throw new Error(`input '${info.name}' is not a 3-channel NCHW image (shape [${info.dims.join(', ')}])`);
  }
  return {
    name: info.name,
    batch: typeof n === 'number' && n > 0 ? n : 1,
    height: typeof h === 'number' && h > 0 ? h : 224,
    width: typeof w === 'number' && w > 0 ? w : 224,
  };
}

function strideOf(input: number, feature: number): number {
  return 2 ** Math.round(Math.log2(input / feature));
}

/** Runs the network once with every cut exposed, measuring channels and strides. */
export async function measureCuts(bytes: Uint8Array): Promise<{
  candidates: StageCandidate[];
  probe: { width: number; height: number };
}> {
  const { graph } = decodeGraph(bytes);
  const floatLike = new Map(
    listTensors(bytes).map((t) => [t.name, t.elemType === DataType.FLOAT || t.quantised]),
  );
  const cuts = findCuts(graph).filter((c) => floatLike.get(c.name) !== false);
  if (cuts.length === 0) throw new Error('the graph has no tensor that all later layers depend on');
  const probe = probeSize(bytes);
  const exposed = exposeOutputs(
    bytes,
    cuts.map((c) => c.name),
  );
  const session = await ort.InferenceSession.create(exposed.bytes, { executionProviders: ['cpu'] });
  try {
    const data = new Float32Array(probe.batch * 3 * probe.height * probe.width).fill(0.5);
    const feeds = {
      [probe.name]: new ort.Tensor('float32', data, [probe.batch, 3, probe.height, probe.width]),
    };
    const out = await session.run(feeds, exposed.outputs);
    const candidates: StageCandidate[] = [];
    cuts.forEach((cut, i) => {
      const dims = out[exposed.outputs[i]].dims;
      if (dims.length !== 4 || dims[2] < 1 || dims[3] < 1) return;
      const sh = strideOf(probe.height, dims[2]);
      if (sh !== strideOf(probe.width, dims[3])) return;
      candidates.push({ ...cut, channels: dims[1], height: dims[2], width: dims[3], stride: sh });
    });
    return { candidates, probe: { width: probe.width, height: probe.height } };
  } finally {
    await session.release();
  }
}

/** The stage at one stride: the last residual sum there, else the last cut there. */
function stageAt(candidates: StageCandidate[], stride: number): StageCandidate {
  const at = candidates.filter((c) => c.stride === stride);
  const chosen = at.filter((c) => c.residual).pop() ?? at.pop();
  if (!chosen) {
    const seen = [...new Set(candidates.map((c) => c.stride))].sort((a, b) => a - b);
    throw new Error(
      `no tensor at stride ${stride} ends a block (strides found: ${seen.join(', ') || 'none'}); ` +
        `choose three with --layers ('padim models inspect FILE' lists the candidates)`,
    );
  }
  return chosen;
}

/** Finds the stages at strides 4, 8 and 16. */
export async function discoverStages(bytes: Uint8Array): Promise<Discovery> {
  const { candidates, probe } = await measureCuts(bytes);
  const stages = [4, 8, 16].map((s) => stageAt(candidates, s)) as Discovery['stages'];
  return { candidates, stages, probe };
}

export interface PrunedBackbone {
  bytes: Uint8Array;
  /** graph outputs, in stage order (a quantised stage's dequantised name) */
  outputs: [string, string, string];
  /** false when the input could not be made dynamic (kept at its fixed size) */
  dynamic: boolean;
}

/** Nodes needed for `outputs`, in their original order. */
function neededNodes(graph: onnx.GraphProto, outputs: string[]): onnx.INodeProto[] {
  const producer = new Map<string, number>();
  graph.node.forEach((n, i) => (n.output ?? []).forEach((o) => o && producer.set(o, i)));
  const keep = new Set<number>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const i = producer.get(stack.pop() as string);
    if (i === undefined || keep.has(i)) continue;
    keep.add(i);
    stack.push(...(graph.node[i].input ?? []).filter(Boolean));
  }
  return graph.node.filter((_, i) => keep.has(i));
}

/**
 * Keeps only what computes the three stages (the classifier head is dropped) and, with
 * `dynamic`, declares the input's batch, height and width symbolic. Stored shapes of
 * intermediate tensors are removed: they hold the old fixed size, and onnxruntime infers them.
 */
export function pruneToStages(bytes: Uint8Array, stages: string[], dynamic: boolean): PrunedBackbone {
  const exposed = exposeOutputs(bytes, stages);
  const { model, graph } = decodeGraph(exposed.bytes);
  const outputs = exposed.outputs as [string, string, string];
  const kept = neededNodes(graph, outputs);
  const used = new Set(kept.flatMap((n) => (n.input ?? []).filter(Boolean)));
  graph.node = kept as onnx.NodeProto[];
  graph.initializer = graph.initializer.filter((t) => used.has(t.name ?? ''));
  graph.input = graph.input.filter((i) => used.has(i.name ?? ''));
  graph.valueInfo = [];
  graph.output = outputs.map((name) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT } } }),
  );
  if (dynamic) {
    const image = inputInfo(bytes).name;
    const input = graph.input.find((i) => i.name === image);
    const shape = input?.type?.tensorType?.shape;
    if (shape?.dim && shape.dim.length === 4) {
      const names = ['batch', undefined, 'height', 'width'];
      shape.dim = shape.dim.map((d, k) => {
        const symbol = names[k];
        return symbol ? onnx.TensorShapeProto.Dimension.create({ dimParam: symbol }) : d;
      });
    }
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), outputs, dynamic };
}

/** True when onnxruntime runs the graph at two sizes that are not the probe's. */
async function runsAtOtherSizes(bytes: Uint8Array, inputName: string): Promise<boolean> {
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    for (const [h, w] of [
      [160, 400],
      [256, 192],
    ]) {
      const t = new ort.Tensor('float32', new Float32Array(3 * h * w).fill(0.5), [1, 3, h, w]);
      await session.run({ [inputName]: t });
    }
    return true;
  } catch {
    return false;
  } finally {
    await session?.release();
  }
}

/**
 * Prunes after the stages and makes the input dynamic; where the kept layers hold a fixed
 * size (a Reshape to constants), the pruned graph keeps its fixed input instead.
 */
export async function prepareBackbone(bytes: Uint8Array, stages: string[]): Promise<PrunedBackbone> {
  const dynamic = pruneToStages(bytes, stages, true);
  if (await runsAtOtherSizes(dynamic.bytes, inputInfo(bytes).name)) return dynamic;
  return pruneToStages(bytes, stages, false);
}
