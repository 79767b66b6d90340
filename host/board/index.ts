// The board simulator: one import for front ends and tests.
export * from "./battery.js";
export * from "./board.js";
export * from "./button.js";
export * from "./clock.js";
export * from "./energy.js";
export * from "./flash.js";
export * from "./light.js";
export * from "./random.js";
export * from "./realtime.js";
export * from "./rtc.js";
