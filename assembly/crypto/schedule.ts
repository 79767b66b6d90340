// The message schedule scratch, shared by SHA-1 (80 x 4 bytes), SHA-256 (64 x 4) and SHA-512
// (80 x 8): only one block function runs at a time, and RAM is the token's scarcest resource.

export const SCHEDULE_BYTES: usize = 640;
export const SCHEDULE: usize = memory.data(<i32>SCHEDULE_BYTES);

/** Zeroes the first `bytes` of the schedule, which held words of the last block compressed. */
export function wipeSchedule(bytes: usize): void {
  memory.fill(SCHEDULE, 0, bytes);
}
