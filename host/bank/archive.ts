// Audit retention (issue 21): sealed rows of the trail moved out of the database into segment files,
// so the database keeps only the recent trail. A segment is gzip'd JSON lines: a header (the format,
// its first and last row, the chain MAC it continues from and the one it ends on) and then every row
// as the store held it, both MACs included. `bank audit verify --archive DIR` walks the segments and
// then the database as one trail (rooms/audit.ts): a segment altered, missing or out of order breaks
// the chain where it is, exactly as a row altered or deleted in the database would; the database
// without its archive starts at a row other than 1, which verify reports too.
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import type { EventRow } from "./store.js";

export const SEGMENT_FORMAT = "otp-token audit segment v1";
/** Rows per segment file at most. */
export const SEGMENT_ROWS = 10_000;

const NAME = /^audit-(\d{12})-(\d{12})\.jsonl\.gz$/;

export interface SegmentHeader {
  format: string;
  first: number;
  last: number;
  /** The chain MAC of the row before `first` (hex; "" for the trail's first row). */
  previous: string;
  /** The chain MAC of `last` (hex): the chain state the segment ends on. */
  end: string;
  rows: number;
}

const hex = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes).toString("hex") : null);
const bytes = (text: string | null) => (text === null ? null : new Uint8Array(Buffer.from(text, "hex")));

/** Writes one segment (durably: written, fsynced, renamed, the folder fsynced); returns its file name. */
export function writeSegment(dir: string, rows: EventRow[], previous: Uint8Array | null): string {
  const first = rows[0].id;
  const last = rows[rows.length - 1].id;
  const header: SegmentHeader = {
    format: SEGMENT_FORMAT,
    first,
    last,
    previous: hex(previous) ?? "",
    end: hex(rows[rows.length - 1].mac) ?? "",
    rows: rows.length,
  };
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
  return readdirSync(dir)
    .map((name) => ({ name, match: NAME.exec(name) }))
    .filter((f) => f.match !== null)
    .map((f) => ({ name: f.name, first: Number(f.match![1]), last: Number(f.match![2]) }))
    .sort((a, b) => a.first - b.first);
}

/** One segment's header and rows. */
export function readSegment(dir: string, name: string): { header: SegmentHeader; rows: EventRow[] } {
  const lines = gunzipSync(readFileSync(join(dir, name)))
    .toString("utf8")
    .split("\n")
    .filter(Boolean);
  const header = JSON.parse(lines[0]) as SegmentHeader;
  if (header.format !== SEGMENT_FORMAT) throw new Error(`${name} is not an audit segment (${String(header.format)})`);
  const rows = lines.slice(1).map((line) => {
    const r = JSON.parse(line) as EventRow & { mac: string | null; nonce: string | null; writer_mac: string | null };
    return { ...r, mac: bytes(r.mac), nonce: bytes(r.nonce), writer_mac: bytes(r.writer_mac) } as EventRow;
  });
  return { header, rows };
}

/** The archive's rows, segment by segment (a page each), in row order. */
export async function* archivePages(dir: string): AsyncIterable<EventRow[]> {
  for (const file of segmentFiles(dir)) yield readSegment(dir, file.name).rows;
}

/** The last archived row's id and chain MAC, or null for an empty archive. */
export function archiveEnd(dir: string): { id: number; mac: Uint8Array } | null {
  const files = segmentFiles(dir);
  if (files.length === 0) return null;
  const { header } = readSegment(dir, files[files.length - 1].name);
  return { id: header.last, mac: bytes(header.end)! };
}
