// The verification service's limits and defaults, apart from the service itself so that help texts
// can name them without loading the HTTP framework.

/** Request bodies larger than this are refused with 413 (the largest, an activation request in base64, is ~150 bytes). */
export const MAX_BODY_BYTES = 4096;
/** Requests per minute each API key may make (per instance), unless the service is told otherwise. */
export const DEFAULT_RATE_LIMIT = 6000;
/** `otp-token bank serve` listens here unless told otherwise. */
export const DEFAULT_SERVICE_PORT = 8788;
export const DEFAULT_SERVICE_HOST = "127.0.0.1";
