/**
 * The image error type: every problem with an image given to the core is an {@link ImageInputError}
 * with a machine-readable code, and libvips failures are turned into one a user can act on.
 */

/** Machine-readable reason attached to every {@link ImageInputError}. */
export type ImageInputErrorCode =
  | 'EMPTY' // 0 bytes
  | 'NOT_FOUND' // file path does not exist
  | 'UNREADABLE' // file exists but cannot be read (directory, permissions, I/O)
  | 'UNSUPPORTED' // not an image, or a format we cannot decode
  | 'TOO_LARGE' // width * height above the pixel limit
  | 'CORRUPT' // recognised format, but truncated or damaged data
  | 'INVALID_RAW'; // a RawImage whose fields or values are inconsistent

/** Any problem with the image given to `prepareImage`. `code` says which kind. */
export class ImageInputError extends Error {
  readonly code: ImageInputErrorCode;

  constructor(code: ImageInputErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageInputError';
    this.code = code;
  }
}

/** Turns a libvips failure into an ImageInputError with a message a user can act on. */
export function decodeError(err: unknown, label: string): ImageInputError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(msg)) {
    return new ImageInputError('UNSUPPORTED', `not an image or unsupported format: ${label}`, { cause: err });
  }
  if (/pixel limit/i.test(msg)) {
    return new ImageInputError('TOO_LARGE', `image too large: ${label} exceeds the pixel limit`, {
      cause: err,
    });
  }
  if (/buffer is empty/i.test(msg)) {
    return new ImageInputError('EMPTY', `empty input (0 bytes): ${label}`, { cause: err });
  }
  // libvips repeats its complaint once per attempt: each distinct line once is enough to read
  const detail = [...new Set(msg.split('\n').map((l) => l.trim()))].filter(Boolean).join('; ');
  return new ImageInputError('CORRUPT', `truncated or corrupt image: ${label} (${detail})`, {
    cause: err,
  });
}
