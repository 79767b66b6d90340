// The little of Node's Buffer that host/token/link.ts and host/token/sim-token.ts use (latin1 text
// to bytes and back), injected by scripts/build-web.js wherever the bundled host code says `Buffer`.

type LatinBytes = Uint8Array & { toString(encoding?: string): string };

function latin(bytes: Uint8Array): LatinBytes {
  return Object.assign(bytes, {
    toString: () => {
      let text = "";
      for (const byte of bytes) text += String.fromCharCode(byte);
      return text;
    },
  });
}

export const Buffer = {
  from(value: string | ArrayBufferLike, offsetOrEncoding?: number | string, length?: number): LatinBytes {
    if (typeof value === "string") {
      if (offsetOrEncoding !== "latin1") throw new Error("the browser's Buffer shim knows latin1 only");
      const bytes = new Uint8Array(value.length);
      for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i) & 0xff;
      return latin(bytes);
    }
    return latin(new Uint8Array(value, offsetOrEncoding as number | undefined, length));
  },
};
