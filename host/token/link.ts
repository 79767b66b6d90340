// Host side of the token's factory link (assembly/device/link.ts): frames built and parsed here,
// carried by whatever transport the caller gives (the simulator's wasm call, later a serial line).
import {
  ACTIVATION_CONFIRMATION_BYTES,
  ACTIVATION_REQUEST_BYTES,
  LINK_ACTIVATE_BEGIN,
  LINK_ACTIVATE_CANCEL,
  LINK_ACTIVATE_FINISH,
  LINK_ADD_PROFILE,
  LINK_DELETE_PROFILE,
  LINK_ERASE,
  LINK_INFO,
  LINK_LIST_PROFILES,
  LINK_SET_TIME,
  MAX_LABEL,
  MAX_SEED,
  MIN_SEED,
  SERVICE_ID_BYTES,
  STATUS_NOT_ACTIVATING,
  STATUS_OK,
  STATUS_PENDING,
  STATUS_TEXT,
} from "../abi.js";
import * as abi from "../abi.js";
import { ACTIVATION_PASSWORD_PATTERN, LABEL_PATTERN, SERVICE_ID_PATTERN, USER_ID_PATTERN } from "../identity.js";
import { algorithmId, algorithmName, checkDigits, checkPeriod, type Algorithm } from "../otp.js";

/** Sends one frame and returns the response frame. */
export type LinkTransport = (frame: Uint8Array) => Uint8Array;

/** Each status's name as a stable error code: STATUS_BAD_TAG -> "bad-tag" (named once, in host/abi.ts). */
const STATUS_CODES: Record<number, string> = Object.fromEntries(
  Object.entries(abi)
    .filter(([name, value]) => name.startsWith("STATUS_") && typeof value === "number")
    .map(([name, value]) => [value, name.slice("STATUS_".length).toLowerCase().replace(/_/g, "-")]),
);

/** The token refused a command; `status` is the firmware's status code, `code` its name. */
export class LinkError extends Error {
  override name = "LinkError";
  readonly code: string;
  constructor(
    readonly status: number,
    what: string,
  ) {
    super(`${what}: ${STATUS_TEXT[status] ?? `status ${status}`}`);
    this.code = STATUS_CODES[status] ?? `status-${status}`;
  }
}

export interface ProfileSpec {
  seed: Uint8Array;
  algorithm?: Algorithm | string;
  digits?: number;
  period?: number;
  /** Up to 12 characters A-Z 0-9 space - . / : (lower case is upper-cased). */
  label: string;
}

export interface ProfileInfo {
  index: number;
  algorithm: Algorithm;
  digits: number;
  period: number;
  label: string;
  /** The bank service it was registered for (8 digits), or null for a profile programmed over the link. */
  serviceId: string | null;
}

/** What "register" (ACTIVATE_FINISH) answered. */
export interface Registration {
  /** The new profile's index; when `replacing`, the index of the profile it replaces on the holder's hold. */
  profile: number;
  /** The token's confirmation for the bank (message 3, 106 bytes). */
  confirmation: Uint8Array;
  /**
   * The token already held a profile for this Service ID (a re-set-up, or an issue never confirmed at
   * the bank): it shows "HOLD A TO REPLACE" and replaces that profile only if button A is held within
   * ERASE_WINDOW_SECONDS; otherwise it keeps the old one.
   */
  replacing: boolean;
}

export interface TokenInfo {
  firmware: string;
  abiVersion: number;
  profileCount: number;
  selfTestPassed: boolean;
  clockValid: boolean;
  storageOk: boolean;
  /** The token refuses to activate until erased: MAX_ACTIVATION_FAILURES answers from the bank were refused. */
  activationLocked: boolean;
  batteryMillivolts: number;
  /** 16 hex digits. */
  serial: string;
  rtcSeconds: bigint;
  latestRecordedSeconds: bigint;
  recordSequence: number;
}

const ALGORITHM_NAMES: Algorithm[] = ["SHA1", "SHA256", "SHA512"];

/** Checks a label and returns it as the token stores it (upper case). */
export function normaliseLabel(label: string): string {
  const upper = label.toUpperCase();
  if (!LABEL_PATTERN.test(upper))
    throw new RangeError(`label must be 1-${MAX_LABEL} characters A-Z 0-9 space - . / :, got ${JSON.stringify(label)}`);
  return upper;
}

export class TokenLink {
  constructor(private readonly transport: LinkTransport) {}

  private call(frame: Uint8Array, what: string, accept: number[] = [STATUS_OK]): DataView {
    const response = this.transport(frame);
    if (response.length < 1) throw new LinkError(-8, what);
    const view = new DataView(response.buffer, response.byteOffset, response.byteLength);
    const status = view.getInt8(0);
    if (!accept.includes(status)) throw new LinkError(status, what);
    return view;
  }

  info(): TokenInfo {
    const v = this.call(Uint8Array.of(LINK_INFO), "reading the token's info");
    const flags = v.getUint8(5);
    return {
      firmware: `${v.getUint8(1)}.${v.getUint8(2)}`,
      abiVersion: v.getUint8(3),
      profileCount: v.getUint8(4),
      selfTestPassed: (flags & 1) !== 0,
      clockValid: (flags & 2) !== 0,
      storageOk: (flags & 4) !== 0,
      activationLocked: (flags & 8) !== 0,
      batteryMillivolts: v.getUint16(6, true),
      serial: v.getBigUint64(8, true).toString(16).padStart(16, "0").toUpperCase(),
      rtcSeconds: v.getBigInt64(16, true),
      latestRecordedSeconds: v.getBigInt64(24, true),
      recordSequence: v.getUint32(32, true),
    };
  }

  setTime(unixSeconds: number | bigint): void {
    const frame = new Uint8Array(9);
    frame[0] = LINK_SET_TIME;
    new DataView(frame.buffer).setBigInt64(1, BigInt(unixSeconds), true);
    this.call(frame, "setting the token's clock");
  }

  /**
   * Programs a profile (factory loading of a seed). Returns its index, or null when the token already
   * holds a profile: then it asks its holder to hold button A within ERASE_WINDOW_SECONDS and stores
   * the profile only if they do (listProfiles() tells).
   */
  addProfile(spec: ProfileSpec): number | null {
    const algorithm = algorithmId(spec.algorithm);
    const digits = checkDigits(spec.digits);
    const period = checkPeriod(spec.period);
    const label = Buffer.from(normaliseLabel(spec.label), "latin1");
    const seed = spec.seed;
    if (!(seed instanceof Uint8Array) || seed.length < MIN_SEED || seed.length > MAX_SEED) {
      throw new RangeError(`seed must be ${MIN_SEED}-${MAX_SEED} bytes`);
    }
    const frame = new Uint8Array(8 + label.length + 1 + seed.length);
    const view = new DataView(frame.buffer);
    frame[0] = LINK_ADD_PROFILE;
    frame[1] = algorithm;
    frame[2] = digits;
    view.setUint32(3, period, true);
    frame[7] = label.length;
    frame.set(label, 8);
    frame[8 + label.length] = seed.length;
    frame.set(seed, 9 + label.length);
    try {
      const response = this.call(frame, "adding the profile", [STATUS_OK, STATUS_PENDING]);
      return response.getInt8(0) === STATUS_PENDING ? null : response.getUint8(1);
    } finally {
      frame.fill(0);
    }
  }

  /**
   * Adds a profile as its holder would: when the token asks (it already holds a profile), `hold`
   * holds button A. Returns the new profile's index; throws when it was not stored.
   */
  addProfileConfirmed(spec: ProfileSpec, hold: () => void): number {
    const index = this.addProfile(spec);
    if (index !== null) return index;
    const before = this.listProfiles().length;
    hold();
    const profiles = this.listProfiles();
    if (profiles.length !== before + 1) throw new Error("the token did not store the profile after the hold");
    return profiles.length - 1;
  }

  listProfiles(): ProfileInfo[] {
    const v = this.call(Uint8Array.of(LINK_LIST_PROFILES), "listing the profiles");
    const profiles: ProfileInfo[] = [];
    let offset = 2;
    for (let index = 0; index < v.getUint8(1); index++) {
      const labelLength = v.getUint8(offset + 6);
      const label = Buffer.from(v.buffer, v.byteOffset + offset + 7, labelLength).toString("latin1");
      const serviceOffset = offset + 7 + MAX_LABEL;
      const service = Buffer.from(v.buffer, v.byteOffset + serviceOffset, SERVICE_ID_BYTES).toString("latin1");
      profiles.push({
        index,
        algorithm: algorithmName(ALGORITHM_NAMES[v.getUint8(offset) - 1]),
        digits: v.getUint8(offset + 1),
        period: v.getUint32(offset + 2, true),
        label,
        serviceId: v.getUint8(serviceOffset) === 0 ? null : service,
      });
      offset += 7 + MAX_LABEL + SERVICE_ID_BYTES;
    }
    return profiles;
  }

  /**
   * "Send" (docs/activation.md): the holder's Service ID, User ID and activation password go in; the
   * request for the bank (message 1, 82 bytes) comes out.
   */
  activateBegin(serviceId: string, userId: string, password: string): Uint8Array {
    if (!SERVICE_ID_PATTERN.test(serviceId)) throw new RangeError(`Service ID must be 8 digits, got ${JSON.stringify(serviceId)}`);
    if (!USER_ID_PATTERN.test(userId))
      throw new RangeError(`User ID must be 16 upper-case letters or digits, got ${JSON.stringify(userId)}`);
    if (!ACTIVATION_PASSWORD_PATTERN.test(password)) throw new RangeError("activation password must be 4-8 letters or digits");
    const frame = new Uint8Array(26 + password.length);
    frame[0] = LINK_ACTIVATE_BEGIN;
    frame.set(Buffer.from(serviceId, "latin1"), 1);
    frame.set(Buffer.from(userId, "latin1"), 9);
    frame[25] = password.length;
    frame.set(Buffer.from(password, "latin1"), 26);
    try {
      const v = this.call(frame, "starting the activation");
      return new Uint8Array(v.buffer.slice(v.byteOffset + 1, v.byteOffset + 1 + ACTIVATION_REQUEST_BYTES));
    } finally {
      frame.fill(0);
    }
  }

  /**
   * "Register": the bank's response (message 2, 117 bytes) goes in; the token checks the bank's
   * confirmation and stores the profile. Returns the new profile's index and the token's confirmation
   * (message 3, 106 bytes), which the caller relays to the bank (Bank.register). When the token
   * already holds a profile for the Service ID, `replacing` is true: the new one replaces it only when
   * the holder holds button A within the window (replaceConfirmed() does both).
   */
  activateFinish(response: Uint8Array): Registration {
    // The token itself refuses any other length (STATUS_BAD_FRAME), as it refuses any other damage.
    const frame = new Uint8Array(1 + response.length);
    frame[0] = LINK_ACTIVATE_FINISH;
    frame.set(response, 1);
    const v = this.call(frame, "finishing the activation", [STATUS_OK, STATUS_PENDING]);
    return {
      profile: v.getUint8(1),
      confirmation: new Uint8Array(v.buffer.slice(v.byteOffset + 2, v.byteOffset + 2 + ACTIVATION_CONFIRMATION_BYTES)),
      replacing: v.getInt8(0) === STATUS_PENDING,
    };
  }

  /**
   * After a registration that is `replacing`: `hold` holds button A, as the holder does on the token's
   * "HOLD A TO REPLACE"; throws when the token kept the old profile (its record was not rewritten).
   */
  replaceConfirmed(hold: () => void): void {
    const sequence = this.info().recordSequence;
    hold();
    if (this.info().recordSequence !== sequence + 1) throw new Error("the token kept the old profile: button A was not held in time");
  }

  /**
   * Abandons the activation under way (the bank refused the request, the token refused the bank's
   * answer at "register", or the holder gave up): the token zeroes its secrets (the CPace scalar and
   * message 1) and leaves the activating screen. Returns false when none was under way.
   */
  activateCancel(): boolean {
    const v = this.call(Uint8Array.of(LINK_ACTIVATE_CANCEL), "cancelling the activation", [STATUS_OK, STATUS_NOT_ACTIVATING]);
    return v.getInt8(0) === STATUS_OK;
  }

  /** Asks the token to erase its profiles; it does so only if button A is held within the window. */
  requestErase(): void {
    this.call(Uint8Array.of(LINK_ERASE), "requesting the erase", [STATUS_PENDING]);
  }

  /** Erases every profile as its holder would: `hold` holds button A when the token asks. */
  eraseConfirmed(hold: () => void): void {
    this.requestErase();
    hold();
    if (this.listProfiles().length !== 0) throw new Error("the token did not erase its profiles: button A was not held in time");
  }

  /**
   * Asks the token to delete profile `index`: it shows that profile and deletes it only if button A
   * is held within the window (a press keeps it). A LinkError "bad-slot" when there is no such profile.
   */
  requestDelete(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index > 255) throw new RangeError(`profile must be 0-255, got ${index}`);
    this.call(Uint8Array.of(LINK_DELETE_PROFILE, index), `deleting profile ${index}`, [STATUS_PENDING]);
  }

  /** Deletes profile `index` as its holder would: `hold` holds button A when the token asks. */
  deleteConfirmed(index: number, hold: () => void): void {
    const before = this.listProfiles().length;
    this.requestDelete(index);
    hold();
    if (this.listProfiles().length !== before - 1) throw new Error("the token kept the profile: button A was not held in time");
  }
}
