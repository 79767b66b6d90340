// Turns a framebuffer in SSD1306 GDDRAM layout (pages of 8 rows; byte (y >> 3) * width + x, bit
// y & 7, 1 = on) into text: Unicode half blocks for a terminal, or "#"/"." for tests and logs.

/** The token's panel: 128x32, 512 bytes. The firmware exports the same as FB_WIDTH / FB_HEIGHT. */
export const PANEL_WIDTH = 128;
export const PANEL_HEIGHT = 32;

export interface RenderOptions {
  /** Pixels per row (default 128); the height follows from the framebuffer's length. */
  width?: number;
  /** Draw a box around the panel (default false). */
  border?: boolean;
  /**
   * Two pixels per character across as well as down (Unicode quadrant blocks): 64 columns for the
   * 128-pixel panel, so it fits an 80-column terminal. Default false (half blocks, 128 columns).
   */
  compact?: boolean;
}

/** Quadrant blocks indexed by the 2x2 pixels: bit 0 top left, 1 top right, 2 bottom left, 3 bottom right. */
const QUADRANTS = [" ", "▘", "▝", "▀", "▖", "▌", "▞", "▛", "▗", "▚", "▐", "▜", "▄", "▙", "▟", "█"];

/** Whether pixel (x, y) is on in a `width`-pixel-wide GDDRAM framebuffer. */
export function pixel(fb: Uint8Array, x: number, y: number, width = PANEL_WIDTH): boolean {
  return ((fb[(y >> 3) * width + x] >> (y & 7)) & 1) === 1;
}

function panelHeight(fb: Uint8Array, width: number): number {
  if (fb.length % width !== 0) throw new Error(`framebuffer of ${fb.length} bytes is not whole pages of ${width} bytes`);
  return (fb.length / width) * 8;
}

/**
 * Renders for a terminal: each text line shows two pixel rows with "▀", "▄", "█" or " " (16 lines of
 * 128 characters for the 128x32 panel), inside a box-drawing frame when `border` is set.
 */
export function renderFramebuffer(fb: Uint8Array, options: RenderOptions = {}): string {
  const width = options.width ?? PANEL_WIDTH;
  const height = panelHeight(fb, width);
  const on = (x: number, y: number) => x < width && y < height && pixel(fb, x, y, width);
  const lines: string[] = [];
  for (let y = 0; y < height; y += 2) {
    let line = "";
    if (options.compact) {
      for (let x = 0; x < width; x += 2) {
        line += QUADRANTS[(on(x, y) ? 1 : 0) | (on(x + 1, y) ? 2 : 0) | (on(x, y + 1) ? 4 : 0) | (on(x + 1, y + 1) ? 8 : 0)];
      }
    } else {
      for (let x = 0; x < width; x++) {
        const top = on(x, y),
          bottom = on(x, y + 1);
        line += top ? (bottom ? "█" : "▀") : bottom ? "▄" : " ";
      }
    }
    lines.push(line);
  }
  if (!options.border) return lines.join("\n");
  const edge = "─".repeat(lines[0]?.length ?? 0);
  return [`┌${edge}┐`, ...lines.map((line) => `│${line}│`), `└${edge}┘`].join("\n");
}

/** Renders one character per pixel, "#" on and "." off, one line per pixel row. */
export function renderAscii(fb: Uint8Array, width = PANEL_WIDTH): string {
  const height = panelHeight(fb, width);
  const lines: string[] = [];
  for (let y = 0; y < height; y++) {
    let line = "";
    for (let x = 0; x < width; x++) line += pixel(fb, x, y, width) ? "#" : ".";
    lines.push(line);
  }
  return lines.join("\n");
}
