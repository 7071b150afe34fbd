/**
 * Example flows (examples/*.json) as tests load them, the core Node-RED nodes they use, and a
 * small model file written where an example's padim-model looks for it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { modelInfo } from '../../src/model/model-info';
import { SMALL_MODEL, fitSmallModel } from '../nodes/fixtures';

export type FlowNode = { id: string; type: string; z?: string; wires?: string[][]; [k: string]: unknown };

export const EXAMPLES = path.resolve(__dirname, '../../../examples');

export function readExample(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as FlowNode[];
}

/** A core node's module (inject, debug, function, mqtt) from the installed Node-RED. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const core = (file: string) => require(`@node-red/nodes/core/${file}`);

/** The example with the small test model settings and `patch` applied to every node. */
export function patchedExample(file: string, patch: (n: FlowNode) => void = () => {}): FlowNode[] {
  const flow = readExample(file);
  for (const n of flow) {
    if (n.type === 'padim-model') Object.assign(n, SMALL_MODEL);
    patch(n);
  }
  return flow;
}

export interface SmallModel {
  /** the model file */
  path: string;
  /** its id (what padim-score reports as msg.padim.modelId) */
  id: string;
  /** image files of the test set */
  good: string[];
  defect: string[];
}

/**
 * Fits a model with the small test settings on the generated test data (the first `trainImages`
 * training images: fewer give another model, as a new version) and saves it at `file`.
 */
export async function writeSmallModel(file: string, trainImages?: number): Promise<SmallModel> {
  const { model, dataset: ds } = await fitSmallModel(file, trainImages);
  return {
    path: file,
    id: modelInfo(file, model.header).id,
    good: ds.test.filter((t) => t.label === 'good').map((t) => t.file),
    defect: ds.test.filter((t) => t.label !== 'good').map((t) => t.file),
  };
}
