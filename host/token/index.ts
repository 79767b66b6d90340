// otp-token/token: the token's firmware (build/token.wasm) on a simulated board (SimToken), the
// factory link that programs it (TokenLink), and a token kept in a flash file between runs. The
// board alone is otp-token/board.
export type { FirmwareBuild, FirmwareExports, HalImports } from "./firmware.js";
export { FIRMWARE_FILES, FirmwareFault, loadFirmware } from "./firmware.js";
export { defaultFlashPath, FlashFileError, openTokenFile, saveTokenFile } from "./flash-file.js";
export type { LinkTransport, ProfileInfo, ProfileSpec, Registration, TokenInfo } from "./link.js";
export { LinkError, normaliseLabel, TokenLink } from "./link.js";
export type { Screen, ScreenMode, SimTokenOptions } from "./sim-token.js";
export { SimToken } from "./sim-token.js";
