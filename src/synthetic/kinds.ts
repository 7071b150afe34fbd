/**
 * What the generators can make: the texture kinds (what a part looks like) and the defect kinds
 * (what can be wrong with it). The other synthetic modules and their callers share these lists.
 */
export type TextureKind = 'woven' | 'brushed' | 'grain' | 'tiles';
export type DefectKind = 'scratch' | 'spot' | 'missing' | 'colour' | 'crack' | 'fleck';

/** Every texture kind. */
export const TEXTURE_KINDS: readonly TextureKind[] = ['woven', 'brushed', 'grain', 'tiles'];

/** The defect kinds a default data set contains (MVTec-like: 4 kinds). */
export const DEFECT_KINDS: readonly DefectKind[] = ['scratch', 'spot', 'missing', 'colour'];

/**
 * Defects that are available but not in the default data set: `crack` is a 1 px hairline and
 * `fleck` a spot 2-4 px in radius at any image size, much harder than the others, meant for
 * explicit "small defect" experiments (long parts photographed whole).
 */
export const EXTRA_DEFECT_KINDS: readonly DefectKind[] = ['crack', 'fleck'];
