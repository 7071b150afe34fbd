/**
 * Writing a short label (score, OK/NG) onto an RGB picture with a built-in 5x7 pixel font.
 *
 * A bitmap font needs no system fonts: rendering text through SVG would depend on fontconfig
 * and installed fonts, which many industrial PCs and slim containers do not have.
 */
import type { RgbImage } from '../render/heatmap';

/** 5x7 glyphs: 7 rows of 5 cells, separated by |, '#' = ink. */
const GLYPHS: Record<string, string> = {
  '0': '.###.|#...#|#..##|#.#.#|##..#|#...#|.###.',
  '1': '..#..|.##..|..#..|..#..|..#..|..#..|.###.',
  '2': '.###.|#...#|....#|...#.|..#..|.#...|#####',
  '3': '#####|...#.|..#..|...#.|....#|#...#|.###.',
  '4': '...#.|..##.|.#.#.|#..#.|#####|...#.|...#.',
  '5': '#####|#....|####.|....#|....#|#...#|.###.',
  '6': '..##.|.#...|#....|####.|#...#|#...#|.###.',
  '7': '#####|....#|...#.|..#..|.#...|.#...|.#...',
  '8': '.###.|#...#|#...#|.###.|#...#|#...#|.###.',
  '9': '.###.|#...#|#...#|.####|....#|...#.|.##..',
  '.': '.....|.....|.....|.....|.....|.##..|.##..',
  '-': '.....|.....|.....|.###.|.....|.....|.....',
  '/': '....#|....#|...#.|..#..|.#...|#....|#....',
  ':': '.....|.##..|.##..|.....|.##..|.##..|.....',
  '%': '##...|##..#|...#.|..#..|.#...|#..##|...##',
  ' ': '.....|.....|.....|.....|.....|.....|.....',
  A: '.###.|#...#|#...#|#####|#...#|#...#|#...#',
  C: '.###.|#...#|#....|#....|#....|#...#|.###.',
  D: '####.|#...#|#...#|#...#|#...#|#...#|####.',
  E: '#####|#....|#....|####.|#....|#....|#####',
  G: '.###.|#...#|#....|#.###|#...#|#...#|.####',
  H: '#...#|#...#|#...#|#####|#...#|#...#|#...#',
  K: '#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#',
  N: '#...#|##..#|#.#.#|#..##|#...#|#...#|#...#',
  O: '.###.|#...#|#...#|#...#|#...#|#...#|.###.',
  R: '####.|#...#|#...#|####.|#.#..|#..#.|#...#',
  S: '.####|#....|#....|.###.|....#|....#|####.',
  T: '#####|..#..|..#..|..#..|..#..|..#..|..#..',
};

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;

/** True when the font can draw `ch` (after upper-casing); others are drawn as spaces. */
export function hasGlyph(ch: string): boolean {
  return ch.toUpperCase() in GLYPHS;
}

function setPixel(img: RgbImage, x: number, y: number, rgb: readonly number[]): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  img.data.set(rgb, (y * img.width + x) * 3);
}

/**
 * Draws `text` in place at the top-left corner on a dark box, `scale` screen pixels per font
 * pixel (default: grows with the image so the label stays readable on large pictures).
 */
export function drawLabel(
  img: RgbImage,
  text: string,
  opts: { scale?: number; colour?: readonly number[]; background?: readonly number[] } = {},
): void {
  const scale = opts.scale ?? Math.max(1, Math.round(Math.min(img.width, img.height) / 160));
  const colour = opts.colour ?? [255, 255, 255];
  const background = opts.background ?? [0, 0, 0];
  const pad = scale * 2;
  const advance = (GLYPH_WIDTH + 1) * scale;
  const boxW = text.length * advance + 2 * pad - scale;
  const boxH = GLYPH_HEIGHT * scale + 2 * pad;
  for (let y = 0; y < boxH; y++) for (let x = 0; x < boxW; x++) setPixel(img, x, y, background);
  [...text.toUpperCase()].forEach((ch, k) => {
    const rows = (GLYPHS[ch] ?? GLYPHS[' ']).split('|');
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (rows[gy][gx] !== '#') continue;
        for (let sy = 0; sy < scale; sy++)
          for (let sx = 0; sx < scale; sx++)
            setPixel(img, pad + k * advance + gx * scale + sx, pad + gy * scale + sy, colour);
      }
    }
  });
}
