// Audit retention (issue 21): sealed rows of the trail moved out of the database into segment files,
// so the database keeps only the recent trail. A segment is gzip'd JSON lines: a header (the format,
// its first and last global id, the time floor, the chain state every partition starts from and the one
// every partition ends on) and then every row as the store held it, both MACs included, in global id
// order (the partitions interleaved as in the database). `bank audit verify --archive DIR` walks the
// segments and then the database as one trail (rooms/audit.ts): a segment altered, missing or out of
// order breaks the chain where it is, exactly as a row altered or deleted in the database would; the
// database without its archive starts at a row other than 1, which verify reports too. Segments of the
// first format (one chain, before partitions were archived) are still read.
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import type { EventRow } from "./store.js";

/** The archive cannot be used as asked (unreadable, not this database's, a row that does not verify): one line to act on. */
export class AuditArchiveError extends Error {
  override name = "AuditArchiveError";
  readonly code = "audit-archive";
}

export const SEGMENT_FORMAT = "otp-token audit segment v2";
const SEGMENT_FORMAT_V1 = "otp-token audit segment v1";
/** Rows per segment file at most. */
export const SEGMENT_ROWS = 10_000;

const NAME = /^audit-(\d{12})-(\d{12})\.jsonl\.gz$/;

/** One partition's chain state: the position of its last row so far and that row's chain MAC (hex). */
export interface PartitionState {
  part: number;
  pos: number;
  mac: string;
}

export interface SegmentHeader {
  format: string;
  /** Global ids of the first and last row. */
  first: number;
  last: number;
  rows: number;
  /** The newest `at` of every row archived up to and including this segment (audit.ts ArchiveCut.floor). */
  floor: number;
  /** Every partition's chain state before the segment's first row (empty for the trail's first segment). */
  start: PartitionState[];
  /** Every partition's chain state after its last row: what the database's rows continue from. */
  end: PartitionState[];
}

/** Where an archive ends: the last global id, the floor and every partition's chain state (by partition). */
export interface ArchiveEnd {
  last: number;
  floor: number;
  states: Map<number, { pos: number; mac: Uint8Array }>;
}

const hex = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes).toString("hex") : null);
const bytes = (text: string | null) => (text === null ? null : new Uint8Array(Buffer.from(text, "hex")));

const statesOf = (states: Map<number, { pos: number; mac: Uint8Array }>): PartitionState[] =>
  [...states.entries()].sort(([a], [b]) => a - b).map(([part, s]) => ({ part, pos: s.pos, mac: hex(s.mac)! }));

/**
 * Writes one segment (durably: written, fsynced, renamed, the folder fsynced) of `rows`, which continue
 * `before` (the chain states they start from; updated here to where they end); returns its file name.
 */
export function writeSegment(dir: string, rows: EventRow[], before: Map<number, { pos: number; mac: Uint8Array }>, floor: number): string {
  const first = rows[0].id;
  const last = rows[rows.length - 1].id;
  const start = statesOf(before);
  for (const row of rows) before.set(row.part ?? 0, { pos: row.pos ?? row.id, mac: row.mac! });
  const header: SegmentHeader = { format: SEGMENT_FORMAT, first, last, rows: rows.length, floor, start, end: statesOf(before) };
  const lines = [
    JSON.stringify(header),
    ...rows.map((r) => JSON.stringify({ ...r, mac: hex(r.mac), nonce: hex(r.nonce ?? null), writer_mac: hex(r.writer_mac ?? null) })),
  ];
  const name = `audit-${String(first).padStart(12, "0")}-${String(last).padStart(12, "0")}.jsonl.gz`;
  const partial = join(dir, `${name}.partial`);
  writeFileSync(partial, gzipSync(`${lines.join("\n")}\n`), { mode: 0o600 });
  const fd = openSync(partial, "r");
  fsyncSync(fd);
  closeSync(fd);
  renameSync(partial, join(dir, name));
  const folder = openSync(dir, "r");
  fsyncSync(folder);
  closeSync(folder);
  return name;
}

/** The segment files in `dir`, in row order. */
export function segmentFiles(dir: string): { name: string; first: number; last: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new AuditArchiveError(
      `cannot read the audit archive folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return names
    .map((name) => ({ name, match: NAME.exec(name) }))
    .filter((f) => f.match !== null)
    .map((f) => ({ name: f.name, first: Number(f.match![1]), last: Number(f.match![2]) }))
    .sort((a, b) => a.first - b.first);
}

/** One segment's header and rows (a first-format header read as partition 0's chain). */
export function readSegment(dir: string, name: string): { header: SegmentHeader; rows: EventRow[] } {
  const lines = gunzipSync(readFileSync(join(dir, name)))
    .toString("utf8")
    .split("\n")
    .filter(Boolean);
  const raw = JSON.parse(lines[0]) as SegmentHeader & { previous?: string; end: PartitionState[] | string };
  if (raw.format !== SEGMENT_FORMAT && raw.format !== SEGMENT_FORMAT_V1)
    throw new AuditArchiveError(`${name} is not an audit segment (${String(raw.format)})`);
  const rows = lines.slice(1).map((line) => {
    const r = JSON.parse(line) as EventRow & { mac: string | null; nonce: string | null; writer_mac: string | null };
    return { ...r, mac: bytes(r.mac), nonce: bytes(r.nonce), writer_mac: bytes(r.writer_mac) } as EventRow;
  });
  if (raw.format === SEGMENT_FORMAT) return { header: raw, rows };
  // v1: one chain, whose positions are the ids; no floor in the header (the rows' newest `at`).
  const header: SegmentHeader = {
    format: raw.format,
    first: raw.first,
    last: raw.last,
    rows: raw.rows,
    floor: rows.reduce((max, r) => Math.max(max, r.at), Number.NEGATIVE_INFINITY),
    start: raw.previous ? [{ part: 0, pos: raw.first - 1, mac: raw.previous }] : [],
    end: [{ part: 0, pos: raw.last, mac: raw.end as string }],
  };
  return { header, rows };
}

/** The archive's rows, segment by segment (a page each), in global id order. */
export async function* archivePages(dir: string): AsyncIterable<EventRow[]> {
  for (const file of segmentFiles(dir)) yield readSegment(dir, file.name).rows;
}

/** Where the archive ends (its last segment's header), or null for an empty archive. */
export function archiveEnd(dir: string): ArchiveEnd | null {
  const files = segmentFiles(dir);
  if (files.length === 0) return null;
  const { header } = readSegment(dir, files[files.length - 1].name);
  const floor = files
    .slice(0, -1)
    .reduce((max, f) => (header.format === SEGMENT_FORMAT ? max : Math.max(max, readSegment(dir, f.name).header.floor)), header.floor);
  return { last: header.last, floor, states: new Map(header.end.map((s) => [s.part, { pos: s.pos, mac: bytes(s.mac)! }])) };
}

/** The archived rows with these global ids (read from the segments that hold them), by id. */
export function archivedRows(dir: string, ids: number[]): Map<number, EventRow> {
  const found = new Map<number, EventRow>();
  const files = segmentFiles(dir);
  for (const file of files.filter((f) => ids.some((id) => id >= f.first && id <= f.last)))
    for (const row of readSegment(dir, file.name).rows) if (ids.includes(row.id)) found.set(row.id, row);
  return found;
}

/** True when a row in the database is the archived row itself (left by a prune that did not finish). */
export function sameRow(a: EventRow, b: EventRow): boolean {
  const h = (x: Uint8Array | null | undefined) => hex(x ?? null);
  return (
    a.id === b.id &&
    h(a.mac) === h(b.mac) &&
    h(a.nonce) === h(b.nonce) &&
    h(a.writer_mac) === h(b.writer_mac) &&
    (a.part ?? 0) === (b.part ?? 0) &&
    (a.pos ?? a.id) === (b.pos ?? b.id) &&
    JSON.stringify([a.at, a.kind, a.service_id, a.user_id, a.actor, a.detail]) ===
      JSON.stringify([b.at, b.kind, b.service_id, b.user_id, b.actor, b.detail])
  );
}
