/**
 * The shapes that arrays travel in through the numerics (linalg/, head/, padim/, model's
 * precision storage): a flat row-major array together with the names of its dimensions, so
 * that no call passes two sizes side by side where they could be swapped unnoticed.
 * Types only: this module imports nothing and may be imported from anywhere in the core.
 */

/** A row-major matrix, data [rows, cols]. */
export interface Matrix<T extends Float32Array | Float64Array = Float32Array> {
  data: T;
  rows: number;
  cols: number;
}

/** One d x d matrix per grid cell of a chunk, data [cells, dims, dims] row-major. */
export interface CellSquares<T extends Float32Array | Float64Array = Float32Array> {
  data: T;
  cells: number;
  dims: number;
}

/** One rows x cols matrix per grid cell of a chunk, data [cells, rows, cols] row-major. */
export interface CellMatrices {
  data: Float32Array;
  cells: number;
  rows: number;
  cols: number;
}

/**
 * The embeddings of a batch of images for a chunk of grid cells, cell-major: data
 * [cells, batch, dims] (cell c, image j at (c * batch + j) * dims).
 */
export interface CellBatch {
  data: Float32Array;
  cells: number;
  batch: number;
  dims: number;
}

/** A run of consecutive grid cells, [first, first + cells). */
export interface CellRange {
  first: number;
  cells: number;
}

/** Height and width of a row-major 2-D grid or map (grid cells or pixels, as the caller says). */
export interface Extent {
  height: number;
  width: number;
}
