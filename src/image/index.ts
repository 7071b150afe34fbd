/**
 * Images in: decoding any supported input (encoded bytes, a file path, raw pixels; BMP by our own
 * decoder) to normalised CHW float32 at the network size, the pixel limit, the image error type,
 * batching into a tensor, and finding image files in a folder.
 *
 * May import: ../types, ../files/ (regular-file checks), ../input/size-text (the size protocol's
 * rules), and sharp. Nothing else in src/ (input-size.ts reads image sizes through this folder,
 * so image/ must not import the rest of input/).
 */
export { prepareImage, readImageSize, openImagePipeline, type PrepareOptions } from './prepare';
export { ImageInputError, type ImageInputErrorCode } from './errors';
export { DEFAULT_MAX_PIXELS, maxImageFileBytes } from './limits';
export { validateNormalisation } from './normalise';
export { decodeBmp } from './bmp';
export { batchToTensor } from './batch';
export { listImageFiles, resolveImageArgs, type ListOptions } from './image-files';
