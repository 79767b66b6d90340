// Audit events as the bank writes them (signed with a writer key), for the store tests.
import { randomBytes } from "node:crypto";
import { AUDIT_NONCE_BYTES, signEvent } from "../host/bank/audit.js";
import type { AuditKeys, AuditSetup, NewEvent } from "../host/bank/store.js";

/** Keys for a store under test: `chain` as given, the writer key fixed. */
export function testAuditKeys(chain: Uint8Array): AuditKeys {
  return { chain, writer: new Uint8Array(32).fill(0x5a) };
}

export function testAuditSetup(chain: Uint8Array, extra: Partial<AuditSetup> = {}): AuditSetup {
  return { keys: testAuditKeys(chain), random: (n) => new Uint8Array(randomBytes(n)), ...extra };
}

/** An event with a fresh nonce and its writer MAC under `keys`. */
export function signed(keys: AuditKeys, fields: Omit<NewEvent, "nonce" | "writer_mac">): NewEvent {
  return signEvent(keys.writer, fields, new Uint8Array(randomBytes(AUDIT_NONCE_BYTES)));
}
