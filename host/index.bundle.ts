// otp-token's OTP API for a single-file Node bundle (package.json's "module" condition, which bundlers
// use and Node does not): the core (build/core.wasm) comes inlined (dist/host/core-wasm.js) and is
// registered before host/index.ts loads it, so the bundle needs no build/ folder beside it. Node itself
// keeps reading build/ (the "default" entry, host/index.ts).
import "./core-inline.js";

export * from "./index.js";
