/**
 * Named backbones: the built-in and `auto` names, and the presets: which ONNX file, which three
 * tensors are the PaDiM stages, and how a user gets the file. The package ships no weights;
 * files live in a models directory.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../files/package-root';

/** The weight-free backbone generated in memory (filterbank.ts): the one name that needs no file. */
export const BUILTIN_FILTERBANK = 'builtin:filterbank';
/** The best pretrained backbone installed in the models directory, else the filter bank. */
export const AUTO_BACKBONE = 'auto';

export type PresetName =
  'resnet50v2' | 'mobilenetv2' | 'mobilenetv2-int8' | 'squeezenet' | 'resnet18' | 'wide_resnet50_2';

export interface BackbonePreset {
  name: PresetName;
  /** file name inside the models directory */
  file: string;
  /** tensors used as the three stages (strides about 4, 8, 16) */
  layers: [string, string, string];
  description: string;
  /** how the file is obtained; `exportScript` presets are made by scripts/export-torchvision.py */
  source: 'export-script' | 'model-zoo' | 'rebuilt';
}

export const PRESETS: Readonly<Record<PresetName, BackbonePreset>> = {
  resnet50v2: {
    name: 'resnet50v2',
    file: 'resnet50v2-stage1to3-fp32.onnx',
    layers: ['stage1', 'stage2', 'stage3'],
    description: 'ResNet50 v2, stages 1-3 (256/512/1024 channels, like Wide-ResNet50 layer1-3)',
    source: 'rebuilt',
  },
  mobilenetv2: {
    name: 'mobilenetv2',
    file: 'mobilenetv2-fp32.onnx',
    // block 10 (64@/16) rather than 13 (96@/16): better or equal on every set of BENCHMARKS.md
    layers: ['block3', 'block6', 'block10'],
    description: 'MobileNetV2 1.0, blocks 3, 6 and 10 (24/32/64 channels)',
    source: 'rebuilt',
  },
  'mobilenetv2-int8': {
    name: 'mobilenetv2-int8',
    file: 'mobilenetv2-12-int8.onnx',
    // Internal uint8 tensors of the model zoo's quantised graph: the residual sums that end
    // blocks 3 (24@/4), 6 (32@/8) and 13 (96@/16), the same points as the float preset
    // (correlation 0.98-0.99 with the float network). They are dequantised when exposed.
    layers: ['339_quantized', '365_quantized', '426_quantized'],
    description: 'MobileNetV2 1.0 int8, as shipped by the ONNX model zoo (fixed 224x224 input)',
    source: 'model-zoo',
  },
  squeezenet: {
    name: 'squeezenet',
    file: 'squeezenet1.1-fp32.onnx',
    layers: ['fire1', 'fire3', 'fire7'],
    description: 'SqueezeNet 1.1 (128/256/512 channels)',
    source: 'rebuilt',
  },
  resnet18: {
    name: 'resnet18',
    file: 'resnet18.onnx',
    layers: ['layer1', 'layer2', 'layer3'],
    description: 'torchvision ResNet18 layer1-3 (64/128/256 channels), the PaDiM paper R18 setting',
    source: 'export-script',
  },
  wide_resnet50_2: {
    name: 'wide_resnet50_2',
    file: 'wide_resnet50_2.onnx',
    layers: ['layer1', 'layer2', 'layer3'],
    description: 'torchvision Wide-ResNet50-2 layer1-3 (256/512/1024 channels), the PaDiM paper WR50 setting',
    source: 'export-script',
  },
};

export function findPreset(name: string): BackbonePreset | undefined {
  return Object.prototype.hasOwnProperty.call(PRESETS, name) ? PRESETS[name as PresetName] : undefined;
}

/** The preset whose file name is the base name of `modelPath`, if any. */
export function presetForFile(modelPath: string): BackbonePreset | undefined {
  const base = path.basename(modelPath);
  return Object.values(PRESETS).find((p) => p.file === base);
}

/** Where named models are looked up, and why there (for error messages). */
export function modelsDirectory(
  option?: string,
  env: NodeJS.ProcessEnv = process.env,
): { dir: string; from: string } {
  if (option) return { dir: path.resolve(option), from: 'option modelsDir' };
  if (env.PADIM_MODELS_DIR)
    return { dir: path.resolve(env.PADIM_MODELS_DIR), from: 'environment PADIM_MODELS_DIR' };
  return { dir: path.join(os.homedir(), '.padim', 'models'), from: 'default' };
}

/** The export script, shipped in the package's scripts/ folder. */
export const EXPORT_SCRIPT = path.join(PACKAGE_ROOT, 'scripts', 'export-torchvision.py');

/** A sentence telling the user how to obtain a preset's file. */
export function howToGet(preset: BackbonePreset, dir: string): string {
  switch (preset.source) {
    case 'export-script':
      return `Create it on a machine with PyTorch, torchvision and internet access: python3 "${EXPORT_SCRIPT}" --out "${dir}" (then copy ${preset.file} there).`;
    case 'model-zoo':
      return `Download ${preset.file} from the ONNX model zoo (https://github.com/onnx/models, validated/vision/classification/mobilenet/model/) into ${dir}.`;
    case 'rebuilt':
      return (
        `This file is a truncated rebuild of an ONNX model-zoo network and is not published; use the resnet18 or ` +
        `wide_resnet50_2 preset (made by ${EXPORT_SCRIPT}), '${BUILTIN_FILTERBANK}', or any ONNX file with explicit layers.`
      );
  }
}
