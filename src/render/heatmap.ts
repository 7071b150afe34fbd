/**
 * Heatmaps for people: the anomaly map coloured and laid over the image, with the outline
 * of the region above the threshold, as PNG or JPEG bytes.
 */
import sharp from 'sharp';
import { openImagePipeline } from '../image';
import { mapToOriginal } from '../padim/anomaly-map';
import { writeFileAtomic } from '../files/atomic-write';
import { outlineOf } from '../roi/roi';
import type { ImageInput, InputGeometry, ScoreMap } from '../types';

/** An 8-bit RGB picture, interleaved. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface HeatmapOptions {
  /** the decision threshold: drawn as a contour, and the middle of the colour scale */
  threshold?: number;
  /** score shown at the top of the colour scale; default 2 x threshold, else the map's maximum */
  maxValue?: number;
  /** 0 (image only) to 1 (colour only); default 0.5 */
  opacity?: number;
  colormap?: 'jet' | 'inferno';
  /** outline the region above the threshold; default true when a threshold is given */
  contour?: boolean;
  format?: 'png' | 'jpeg';
  /** the regions of interest (1 inside) on the map's pixels: their outline is drawn in cyan */
  region?: ScoreMap;
}

/** Control points of the colour maps, t in [0, 1] -> RGB, linearly interpolated. */
const COLORMAPS: Record<NonNullable<HeatmapOptions['colormap']>, number[][]> = {
  jet: [
    [0, 0, 0, 128],
    [0.125, 0, 0, 255],
    [0.375, 0, 255, 255],
    [0.625, 255, 255, 0],
    [0.875, 255, 0, 0],
    [1, 128, 0, 0],
  ],
  inferno: [
    [0, 0, 0, 4],
    [0.25, 87, 16, 110],
    [0.5, 188, 55, 84],
    [0.75, 249, 142, 9],
    [1, 252, 255, 164],
  ],
};

/** 256-entry lookup table of a colour map. */
function colourTable(name: NonNullable<HeatmapOptions['colormap']>): Uint8Array {
  const points = COLORMAPS[name];
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let k = 0;
    while (k < points.length - 2 && t > points[k + 1][0]) k++;
    const [t0, ...c0] = points[k];
    const [t1, ...c1] = points[k + 1];
    const f = Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
    for (let ch = 0; ch < 3; ch++) lut[i * 3 + ch] = Math.round(c0[ch] + (c1[ch] - c0[ch]) * f);
  }
  return lut;
}

function mapMaximum(map: ScoreMap): number {
  let m = 0;
  for (let i = 0; i < map.data.length; i++) if (map.data[i] > m) m = map.data[i];
  return m;
}

/** Blends the coloured map over the image (both the same size) into new RGB bytes. */
export function overlay(image: RgbImage, map: ScoreMap, opts: HeatmapOptions = {}): RgbImage {
  if (image.width !== map.width || image.height !== map.height) {
    throw new Error(`map ${map.width}x${map.height} does not match image ${image.width}x${image.height}`);
  }
  const lut = colourTable(opts.colormap ?? 'jet');
  const top = opts.maxValue ?? (opts.threshold ? 2 * opts.threshold : mapMaximum(map));
  const scale = top > 0 ? 255 / top : 0;
  const alpha = Math.min(1, Math.max(0, opts.opacity ?? 0.5));
  const out = new Uint8Array(image.width * image.height * 3);
  for (let i = 0; i < map.data.length; i++) {
    const level = Math.min(255, Math.max(0, Math.round(map.data[i] * scale))) * 3;
    for (let ch = 0; ch < 3; ch++) {
      out[i * 3 + ch] = Math.round(image.data[i * 3 + ch] * (1 - alpha) + lut[level + ch] * alpha);
    }
  }
  const threshold = opts.threshold;
  if (threshold !== undefined && (opts.contour ?? true)) drawContour(out, map, threshold);
  if (opts.region) drawRegionOutline(out, opts.region, map);
  return { data: out, width: image.width, height: image.height };
}

/** Cyan pixels on the edge of the regions of interest. */
function drawRegionOutline(rgb: Uint8Array, region: ScoreMap, map: ScoreMap): void {
  if (region.width !== map.width || region.height !== map.height)
    throw new Error(`region ${region.width}x${region.height} does not match map ${map.width}x${map.height}`);
  const edge = outlineOf(region);
  for (let i = 0; i < edge.length; i++) if (edge[i]) rgb.set([0, 255, 255], i * 3);
}

/** White pixels on the border of the region where the map is at or above the threshold. */
function drawContour(rgb: Uint8Array, map: ScoreMap, threshold: number): void {
  const { width: w, height: h, data } = map;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (data[i] < threshold) continue;
      const edge =
        x === 0 ||
        y === 0 ||
        x === w - 1 ||
        y === h - 1 ||
        data[i - 1] < threshold ||
        data[i + 1] < threshold ||
        data[i - w] < threshold ||
        data[i + w] < threshold;
      if (edge) rgb.set([255, 255, 255], i * 3);
    }
  }
}

/** Encodes an RGB picture as PNG (default) or JPEG. */
export async function encodeRgb(image: RgbImage, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const s = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  return format === 'jpeg' ? s.jpeg({ quality: 90 }).toBuffer() : s.png().toBuffer();
}

/** overlay() then encode. */
export async function renderHeatmap(
  image: RgbImage,
  map: ScoreMap,
  opts: HeatmapOptions = {},
): Promise<Buffer> {
  return encodeRgb(overlay(image, map, opts), opts.format ?? 'png');
}

/**
 * Decodes an image for display at its own size (EXIF orientation applied, alpha dropped,
 * 8-bit sRGB), to draw a heatmap on: anything prepareImage takes (bytes, a path, raw pixels, as
 * padim-score passes on in msg.image), opened the same way, with the same pixel limit (default
 * DEFAULT_MAX_PIXELS); an RgbImage is taken as it is.
 */
export async function loadRgb(input: ImageInput | RgbImage, maxPixels?: number): Promise<RgbImage> {
  if (typeof input === 'object' && !(input instanceof Uint8Array) && !('channels' in input)) return input;
  const { data, info } = await (
    await openImagePipeline(input, maxPixels)
  )
    .rotate()
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return { data, width: info.width, height: info.height };
  // greyscale stays one channel through toColourspace: replicate it
  const rgb = new Uint8Array(info.width * info.height * 3);
  for (let i = 0; i < info.width * info.height; i++) rgb.fill(data[i * info.channels], i * 3, i * 3 + 3);
  return { data: rgb, width: info.width, height: info.height };
}

/**
 * Writes the heatmap of a scored image file as PNG at the image's own size (the map is mapped
 * back through the input geometry), atomically.
 */
export async function writeHeatmapFile(
  imageFile: string,
  result: { map: ScoreMap; geometry: InputGeometry; threshold: number; roiMask?: ScoreMap },
  out: string,
): Promise<void> {
  const image = await loadRgb(imageFile);
  const map = mapToOriginal(result.map, result.geometry);
  const region = result.roiMask && mapToOriginal(result.roiMask, result.geometry);
  await writeFileAtomic(out, await renderHeatmap(image, map, { threshold: result.threshold, region }));
}
