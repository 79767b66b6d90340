// The bench's two pictures, drawn as SVG text (no browser, no library): the CR2032's voltage over the
// years at 5/10/20 presses a day under both sets of conditions, with the low-battery warning and the
// last code marked; and the current of one once-an-hour press on a time axis. bench/mcu.ts writes
// them into docs/ (docs/hardware.md shows them).
import {
  type Conditions,
  CR2032,
  capacityMicroampHours,
  curveFor,
  dailyMicroampMs,
  fractionAt,
  type Lifetime,
  millivoltsAt,
  type OperationCosts,
} from "../host/board/energy.js";

const WIDTH = 820;
const HEIGHT = 420;
const MARGIN = { left: 64, right: 240, top: 36, bottom: 48 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const FAMILY = 'font-family="DejaVu Sans, Arial, sans-serif"';
const FONT = `${FAMILY} font-size="12"`;
const COLOURS: Record<number, string> = { 5: "#1b7837", 10: "#2166ac", 20: "#b2182b" };

const xmlText = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const n = (value: number) => value.toFixed(1);

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="22" ${FAMILY} font-size="14" font-weight="bold">${xmlText(title)}</text>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

export interface VoltageSeries {
  pressesPerDay: number;
  conditions: Readonly<Conditions>;
  life: Lifetime;
}

/** Cell voltage (the curve under each set of conditions) against years of use, warning and last code marked. */
export function voltagePlot(series: VoltageSeries[], costs: OperationCosts, lowMillivolts: number, brownOutMillivolts: number): string {
  const maxYears = Math.ceil(Math.max(...series.map((s) => s.life.lastCodeYears)) + 0.5);
  const [vMin, vMax] = [2000, 3050];
  const x = (years: number) => MARGIN.left + (years / maxYears) * PLOT_W;
  const y = (mv: number) => MARGIN.top + ((vMax - mv) / (vMax - vMin)) * PLOT_H;
  const body: string[] = [];
  for (let year = 0; year <= maxYears; year++) {
    body.push(`<line x1="${n(x(year))}" y1="${MARGIN.top}" x2="${n(x(year))}" y2="${MARGIN.top + PLOT_H}" stroke="#e0e0e0"/>`);
    body.push(`<text x="${n(x(year))}" y="${MARGIN.top + PLOT_H + 16}" ${FONT} text-anchor="middle">${year}</text>`);
  }
  for (let mv = 2000; mv <= 3000; mv += 200) {
    body.push(`<line x1="${MARGIN.left}" y1="${n(y(mv))}" x2="${MARGIN.left + PLOT_W}" y2="${n(y(mv))}" stroke="#e0e0e0"/>`);
    body.push(`<text x="${MARGIN.left - 6}" y="${n(y(mv) + 4)}" ${FONT} text-anchor="end">${(mv / 1000).toFixed(1)}</text>`);
  }
  for (const [mv, label] of [
    [lowMillivolts, "low-battery warning"],
    [brownOutMillivolts, "last code"],
  ] as const) {
    body.push(
      `<line x1="${MARGIN.left}" y1="${n(y(mv))}" x2="${MARGIN.left + PLOT_W}" y2="${n(y(mv))}" stroke="#888" stroke-dasharray="4 3"/>`,
    );
    body.push(`<text x="${MARGIN.left + 4}" y="${n(y(mv) - 4)}" ${FONT} fill="#555">${label} (${mv} mV)</text>`);
  }
  body.push(`<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 10}" ${FONT} text-anchor="middle">years of use</text>`);
  body.push(
    `<text x="16" y="${MARGIN.top + PLOT_H / 2}" ${FONT} text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + PLOT_H / 2})">cell voltage (V)</text>`,
  );
  let legend = MARGIN.top + 8;
  for (const s of series) {
    const curve = curveFor(s.conditions);
    const perDay = dailyMicroampMs({ pressesPerDay: s.pressesPerDay }, costs, s.conditions) / 3_600_000; // µAh a day
    const capacity = capacityMicroampHours(s.conditions);
    const end = s.life.lastCodeYears * 1.02;
    const points: string[] = [];
    for (let i = 0; i <= 400; i++) {
      const years = (end * i) / 400;
      const fraction = (years * 365.25 * perDay) / capacity;
      points.push(`${n(x(years))},${n(y(Math.max(vMin, millivoltsAt(fraction, curve))))}`);
    }
    const colour = COLOURS[s.pressesPerDay] ?? "#333";
    const dash = s.conditions.name === "central" ? "" : ' stroke-dasharray="7 4"';
    body.push(`<polyline points="${points.join(" ")}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    for (const [years, mv, shape] of [
      [s.life.warningYears, lowMillivolts, "warning"],
      [s.life.lastCodeYears, brownOutMillivolts, "last"],
    ] as const) {
      const [cx, cy] = [x(years), y(Math.max(mv, vMin))];
      body.push(
        shape === "warning"
          ? `<circle cx="${n(cx)}" cy="${n(cy)}" r="4" fill="#fff" stroke="${colour}" stroke-width="2"/>`
          : `<rect x="${n(cx - 4)}" y="${n(cy - 4)}" width="8" height="8" fill="${colour}"/>`,
      );
    }
    const lx = MARGIN.left + PLOT_W + 14;
    body.push(`<line x1="${lx}" y1="${legend}" x2="${lx + 24}" y2="${legend}" stroke="${colour}" stroke-width="2"${dash}/>`);
    body.push(
      `<text x="${lx + 30}" y="${legend + 4}" ${FONT}>${s.pressesPerDay}/day ${s.conditions.name}: ${s.life.lastCodeYears.toFixed(2)} y</text>`,
    );
    legend += 18;
  }
  const lx = MARGIN.left + PLOT_W + 14;
  body.push(`<circle cx="${lx + 12}" cy="${legend + 10}" r="4" fill="#fff" stroke="#333" stroke-width="2"/>`);
  body.push(`<text x="${lx + 30}" y="${legend + 14}" ${FONT}>warning</text>`);
  body.push(`<rect x="${lx + 8}" y="${legend + 24}" width="8" height="8" fill="#333"/>`);
  body.push(`<text x="${lx + 30}" y="${legend + 32}" ${FONT}>last code</text>`);
  body.push(
    `<text x="${lx}" y="${legend + 56}" ${FONT} fill="#555">CR2032 ${CR2032.capacityMicroampHours / 1000} mAh;</text>`,
    `<text x="${lx}" y="${legend + 72}" ${FONT} fill="#555">solid: central,</text>`,
    `<text x="${lx}" y="${legend + 88}" ${FONT} fill="#555">dashed: worst case</text>`,
  );
  // The last code's fraction must be where the curve crosses the brown-out level: a cross-check.
  for (const s of series) {
    const crossing = fractionAt(brownOutMillivolts, curveFor(s.conditions));
    if (!(crossing > 0 && crossing <= 1)) throw new Error(`the ${s.conditions.name} curve never reaches ${brownOutMillivolts} mV`);
  }
  return frame("CR2032 voltage over the years: 5, 10, 20 presses a day (npm run bench)", body);
}

/** One stretch of a press's current profile. */
export interface ProfileSegment {
  what: string;
  ms: number;
  microamps: number;
}

/** A moment marked on the time axis (ms from the start of the first segment). */
export interface ProfileMark {
  atMs: number;
  label: string;
}

/** The current of one press over time, on a log current axis (µA), each stretch labelled. */
export function pressProfilePlot(title: string, segments: ProfileSegment[], marks: ProfileMark[] = [], note = ""): string {
  const total = segments.reduce((sum, s) => sum + s.ms, 0);
  const [logMin, logMax] = [0, 4]; // 1 µA .. 10 mA
  const x = (ms: number) => MARGIN.left + (ms / total) * PLOT_W;
  const y = (microamps: number) => MARGIN.top + ((logMax - Math.log10(Math.max(1, microamps))) / (logMax - logMin)) * PLOT_H;
  const body: string[] = [];
  for (let decade = logMin; decade <= logMax; decade++) {
    const label = ["1 µA", "10 µA", "100 µA", "1 mA", "10 mA"][decade];
    body.push(
      `<line x1="${MARGIN.left}" y1="${n(y(10 ** decade))}" x2="${MARGIN.left + PLOT_W}" y2="${n(y(10 ** decade))}" stroke="#e0e0e0"/>`,
    );
    body.push(`<text x="${MARGIN.left - 6}" y="${n(y(10 ** decade) + 4)}" ${FONT} text-anchor="end">${label}</text>`);
  }
  const step = total > 500 ? 100 : 10;
  for (let ms = 0; ms <= total; ms += step) {
    body.push(`<text x="${n(x(ms))}" y="${MARGIN.top + PLOT_H + 16}" ${FONT} text-anchor="middle">${ms}</text>`);
  }
  body.push(`<text x="${MARGIN.left + PLOT_W + 8}" y="${MARGIN.top + PLOT_H + 16}" ${FONT}>ms</text>`);
  for (const mark of marks) {
    body.push(
      `<line x1="${n(x(mark.atMs))}" y1="${MARGIN.top}" x2="${n(x(mark.atMs))}" y2="${MARGIN.top + PLOT_H}" stroke="#444" stroke-dasharray="3 3"/>`,
    );
    body.push(`<text x="${n(x(mark.atMs) + 4)}" y="${MARGIN.top + 12}" ${FONT}>${xmlText(mark.label)}</text>`);
  }
  if (note) body.push(`<text x="${MARGIN.left}" y="${HEIGHT - 10}" ${FONT} fill="#555">${xmlText(note)}</text>`);
  let at = 0;
  const path: string[] = [`M ${n(x(0))} ${n(y(segments[0].microamps))}`];
  let legend = MARGIN.top + 8;
  const palette = ["#2166ac", "#b2182b", "#1b7837", "#762a83", "#e08214", "#01665e", "#8c510a"];
  segments.forEach((s, i) => {
    const colour = palette[i % palette.length];
    body.push(
      `<rect x="${n(x(at))}" y="${n(y(s.microamps))}" width="${n(Math.max(0.5, x(at + s.ms) - x(at)))}" height="${n(MARGIN.top + PLOT_H - y(s.microamps))}" fill="${colour}" fill-opacity="0.25"/>`,
    );
    path.push(`L ${n(x(at))} ${n(y(s.microamps))} L ${n(x(at + s.ms))} ${n(y(s.microamps))}`);
    const lx = MARGIN.left + PLOT_W + 14;
    body.push(`<rect x="${lx}" y="${legend - 8}" width="10" height="10" fill="${colour}" fill-opacity="0.6"/>`);
    const current = s.microamps >= 1000 ? `${(s.microamps / 1000).toFixed(2)} mA` : `${s.microamps.toFixed(1)} µA`;
    body.push(`<text x="${lx + 16}" y="${legend + 1}" ${FONT}>${xmlText(s.what)}</text>`);
    body.push(`<text x="${lx + 16}" y="${legend + 15}" ${FONT} fill="#555">${s.ms.toFixed(1)} ms at ${current}</text>`);
    legend += 34;
    at += s.ms;
  });
  body.push(`<path d="${path.join(" ")}" fill="none" stroke="#222" stroke-width="1.5"/>`);
  return frame(title, body);
}
