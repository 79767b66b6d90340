// The verification service's limits and defaults, apart from the service itself so that help texts
// can name them without loading the HTTP framework.

/** Request bodies larger than this are refused with 413 (the largest, an activation request in base64, is ~150 bytes). */
export const MAX_BODY_BYTES = 4096;
/** Requests per minute each API key may make (per instance), unless the service is told otherwise. */
export const DEFAULT_RATE_LIMIT = 6000;
/**
 * Failed authentications (no key, an unknown or revoked key, a wrong secret) per minute each client
 * address may make (per instance) before its requests are answered 429 without a database read.
 */
export const DEFAULT_FAILED_AUTH_LIMIT = 60;
/** Seconds a key id whose key the store refused is refused again without reading the store. */
export const UNKNOWN_KEY_SECONDS = 5;
/** `otp-token bank serve` listens here unless told otherwise. */
export const DEFAULT_SERVICE_PORT = 8788;
export const DEFAULT_SERVICE_HOST = "127.0.0.1";
/** PostgreSQL connections per `bank serve` instance unless told otherwise (host/bank/postgres/store.ts says why). */
export const DEFAULT_POOL_SIZE = 10;
/**
 * Audit partitions a PostgreSQL instance seals at once (`bank serve --audit-sealers`, host/bank/postgres/sealer.ts),
 * unless told otherwise: each sealing loop holds one of the pool's connections while it seals, so at most the pool less one.
 */
export const DEFAULT_AUDIT_SEALERS = 4;
export const MAX_AUDIT_SEALERS = 16;
/** The sealing loops of an instance whose pool has `poolSize` connections, unless told otherwise. */
export const defaultAuditSealers = (poolSize: number): number => Math.max(1, Math.min(DEFAULT_AUDIT_SEALERS, poolSize - 1));
/**
 * Seconds `bank serve` reuses an API key's stored row (so a request does not wait on the database to
 * authenticate): a key revoked with 'bank api-key revoke' is refused by every instance within this.
 */
export const DEFAULT_KEY_CACHE_SECONDS = 2;
