/**
 * Geometry: which resize and crop turn the oriented original into the network input, following
 * torchvision's Resize and CenterCrop, and where the input lies in the original (for mapping back).
 */
import type { InputGeometry, SizeProtocol } from '../types';

/** The resize and crop for one image, in pixels. */
export interface GeometryPlan {
  /** Size the whole (oriented) image is resized to. */
  resizeWidth: number;
  resizeHeight: number;
  /** Offset of the centre crop inside the resized image, in resized pixels (0 for `resize`). */
  cropLeft: number;
  cropTop: number;
  /** Network input size. */
  outWidth: number;
  outHeight: number;
  geometry: InputGeometry;
}

/** The plan for an oriented image of `origWidth` x `origHeight` pixels under the size protocol. */
export function planGeometry(origWidth: number, origHeight: number, size: SizeProtocol): GeometryPlan {
  let resizeWidth: number;
  let resizeHeight: number;
  if (size.kind === 'resize') {
    resizeWidth = size.width;
    resizeHeight = size.height;
  } else {
    // torchvision Resize(int): the shorter side becomes `resize`, the longer one is truncated (int()).
    const longSide = Math.floor(
      (size.resize * Math.max(origWidth, origHeight)) / Math.min(origWidth, origHeight),
    );
    const landscape = origWidth > origHeight;
    resizeWidth = landscape ? longSide : size.resize;
    resizeHeight = landscape ? size.resize : longSide;
  }
  // torchvision CenterCrop: offset = int(round((resized - crop) / 2)), Python's round = half to even.
  const cropLeft = roundHalfEven((resizeWidth - size.width) / 2);
  const cropTop = roundHalfEven((resizeHeight - size.height) / 2);
  const scaleX = origWidth / resizeWidth;
  const scaleY = origHeight / resizeHeight;
  return {
    resizeWidth,
    resizeHeight,
    cropLeft,
    cropTop,
    outWidth: size.width,
    outHeight: size.height,
    geometry: {
      originalWidth: origWidth,
      originalHeight: origHeight,
      left: cropLeft * scaleX,
      top: cropTop * scaleY,
      scaleX,
      scaleY,
    },
  };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; Python rounds it to the even neighbour.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
