// dist/host/core-wasm.js, written by scripts/build-inline-wasm.js after the host build: build/core.wasm
// (the speed build) as base64, for the bundles (host/wasm.browser.ts, host/index.bundle.ts).
export const CORE_WASM_BASE64: string;
