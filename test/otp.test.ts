// HOTP/TOTP against implementations we did not write: a table produced with oathtool (OATH Toolkit
// 2.6.7), oathtool itself when installed (CI installs it), otpauth and otplib on random keys and times.
// Every build of the core.
import { execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import * as OTPAuth from "otpauth";
import { generateSync as otplibGenerate } from "otplib";
import { describe, expect, it } from "vitest";
import { otpApi } from "../host/otp.js";
import { CORE_BUILDS, commandWorks, fromHex, requireTool, testRandom } from "./helpers.js";

// [algorithm, hex key, digits, unix time, code] for a 60-second step. Made with (bash):
//   key=$(printf "otp-token oathtool table %s" "$i" | sha512sum | cut -c1-$n)   # n = 40, 64, 128 hex chars
//   oathtool --totp=$alg -s 60 -d $digits -N "@$t" $key
// for i in 0 1 2, alg in sha1 sha256 sha512, digits 6 7 8 and the times below.
// biome-ignore format: one row per oathtool run
const OATHTOOL_TABLE: [string, string, number, number, string][] = [
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 6, 0, "383592"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 6, 59, "383592"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 6, 60, "020237"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 6, 1111111109, "252997"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 6, 1234567890, "509767"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 6, 2000000000, "343007"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 6, 4294967295, "048462"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 6, 4294967296, "048462"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 6, 20000000000, "749286"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 7, 0, "6383592"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 7, 59, "6383592"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 7, 60, "3020237"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 7, 1111111109, "0252997"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 7, 1234567890, "9509767"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 7, 2000000000, "9343007"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 7, 4294967295, "1048462"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 7, 4294967296, "1048462"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 7, 20000000000, "6749286"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 8, 0, "86383592"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 8, 59, "86383592"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 8, 60, "23020237"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 8, 1111111109, "40252997"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 8, 1234567890, "79509767"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 8, 2000000000, "29343007"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 8, 4294967295, "11048462"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 8, 4294967296, "11048462"],
  ["SHA1", "fac7ba38930c783771056bec75be7feac4cd8f36", 8, 20000000000, "56749286"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 6, 0, "927398"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 6, 59, "927398"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 6, 60, "417513"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 6, 1111111109, "226769"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 6, 1234567890, "576655"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 6, 2000000000, "360196"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 6, 4294967295, "414054"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 6, 4294967296, "414054"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 6, 20000000000, "139912"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 7, 0, "9927398"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 7, 59, "9927398"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 7, 60, "2417513"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 7, 1111111109, "1226769"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 7, 1234567890, "9576655"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 7, 2000000000, "5360196"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 7, 4294967295, "4414054"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 7, 4294967296, "4414054"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 7, 20000000000, "3139912"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 8, 0, "39927398"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 8, 59, "39927398"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 8, 60, "62417513"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 8, 1111111109, "81226769"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 8, 1234567890, "89576655"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 8, 2000000000, "95360196"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 8, 4294967295, "34414054"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 8, 4294967296, "34414054"],
  ["SHA1", "bc64f3f6aca79129b9899cb36eceddbb4891b33e", 8, 20000000000, "53139912"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 6, 0, "775642"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 6, 59, "775642"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 6, 60, "270261"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 6, 1111111109, "899334"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 6, 1234567890, "834464"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 6, 2000000000, "135745"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 6, 4294967295, "941555"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 6, 4294967296, "941555"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 6, 20000000000, "343761"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 7, 0, "1775642"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 7, 59, "1775642"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 7, 60, "5270261"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 7, 1111111109, "7899334"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 7, 1234567890, "5834464"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 7, 2000000000, "0135745"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 7, 4294967295, "4941555"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 7, 4294967296, "4941555"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 7, 20000000000, "2343761"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 8, 0, "51775642"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 8, 59, "51775642"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 8, 60, "95270261"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 8, 1111111109, "57899334"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 8, 1234567890, "55834464"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 8, 2000000000, "40135745"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 8, 4294967295, "64941555"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 8, 4294967296, "64941555"],
  ["SHA1", "c0c9da8f36d20ccceb78c55cc9a8539b88ab9259", 8, 20000000000, "42343761"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 6, 0, "799777"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 6, 59, "799777"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 6, 60, "497478"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 6, 1111111109, "253955"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 6, 1234567890, "462834"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 6, 2000000000, "832396"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 6, 4294967295, "937852"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 6, 4294967296, "937852"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 6, 20000000000, "730953"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 7, 0, "3799777"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 7, 59, "3799777"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 7, 60, "4497478"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 7, 1111111109, "7253955"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 7, 1234567890, "7462834"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 7, 2000000000, "9832396"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 7, 4294967295, "8937852"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 7, 4294967296, "8937852"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 7, 20000000000, "2730953"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 8, 0, "03799777"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 8, 59, "03799777"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 8, 60, "04497478"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 8, 1111111109, "17253955"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 8, 1234567890, "87462834"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 8, 2000000000, "69832396"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 8, 4294967295, "88937852"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 8, 4294967296, "88937852"],
  ["SHA256", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1", 8, 20000000000, "22730953"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 6, 0, "277384"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 6, 59, "277384"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 6, 60, "508305"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 6, 1111111109, "108964"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 6, 1234567890, "513576"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 6, 2000000000, "545393"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 6, 4294967295, "148304"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 6, 4294967296, "148304"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 6, 20000000000, "903982"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 7, 0, "0277384"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 7, 59, "0277384"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 7, 60, "2508305"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 7, 1111111109, "0108964"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 7, 1234567890, "3513576"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 7, 2000000000, "1545393"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 7, 4294967295, "1148304"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 7, 4294967296, "1148304"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 7, 20000000000, "8903982"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 8, 0, "00277384"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 8, 59, "00277384"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 8, 60, "22508305"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 8, 1111111109, "00108964"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 8, 1234567890, "33513576"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 8, 2000000000, "91545393"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 8, 4294967295, "71148304"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 8, 4294967296, "71148304"],
  ["SHA256", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb8", 8, 20000000000, "08903982"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 6, 0, "843153"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 6, 59, "843153"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 6, 60, "728195"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 6, 1111111109, "156397"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 6, 1234567890, "868289"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 6, 2000000000, "887823"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 6, 4294967295, "463875"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 6, 4294967296, "463875"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 6, 20000000000, "555010"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 7, 0, "4843153"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 7, 59, "4843153"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 7, 60, "0728195"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 7, 1111111109, "4156397"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 7, 1234567890, "5868289"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 7, 2000000000, "2887823"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 7, 4294967295, "0463875"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 7, 4294967296, "0463875"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 7, 20000000000, "3555010"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 8, 0, "14843153"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 8, 59, "14843153"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 8, 60, "50728195"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 8, 1111111109, "34156397"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 8, 1234567890, "75868289"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 8, 2000000000, "92887823"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 8, 4294967295, "10463875"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 8, 4294967296, "10463875"],
  ["SHA256", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497", 8, 20000000000, "13555010"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 6, 0, "770271"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 6, 59, "770271"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 6, 60, "245351"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 6, 1111111109, "705880"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 6, 1234567890, "412988"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 6, 2000000000, "136085"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 6, 4294967295, "383619"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 6, 4294967296, "383619"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 6, 20000000000, "457928"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 7, 0, "4770271"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 7, 59, "4770271"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 7, 60, "2245351"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 7, 1111111109, "3705880"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 7, 1234567890, "1412988"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 7, 2000000000, "1136085"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 7, 4294967295, "0383619"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 7, 4294967296, "0383619"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 7, 20000000000, "3457928"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 8, 0, "04770271"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 8, 59, "04770271"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 8, 60, "12245351"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 8, 1111111109, "73705880"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 8, 1234567890, "51412988"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 8, 2000000000, "51136085"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 8, 4294967295, "40383619"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 8, 4294967296, "40383619"],
  ["SHA512", "fac7ba38930c783771056bec75be7feac4cd8f36c3aa8be237268912da8147f1cbc36aa6fab9aeeb67a6771c7eb9b8de02bec46ddf659eab8b31e3b384d4b70b", 8, 20000000000, "63457928"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 6, 0, "171546"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 6, 59, "171546"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 6, 60, "883293"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 6, 1111111109, "760350"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 6, 1234567890, "078063"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 6, 2000000000, "050252"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 6, 4294967295, "587672"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 6, 4294967296, "587672"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 6, 20000000000, "358406"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 7, 0, "6171546"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 7, 59, "6171546"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 7, 60, "5883293"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 7, 1111111109, "3760350"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 7, 1234567890, "3078063"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 7, 2000000000, "8050252"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 7, 4294967295, "5587672"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 7, 4294967296, "5587672"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 7, 20000000000, "6358406"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 8, 0, "76171546"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 8, 59, "76171546"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 8, 60, "45883293"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 8, 1111111109, "43760350"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 8, 1234567890, "13078063"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 8, 2000000000, "98050252"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 8, 4294967295, "45587672"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 8, 4294967296, "45587672"],
  ["SHA512", "bc64f3f6aca79129b9899cb36eceddbb4891b33e9e54c15b6bf57a04ce936bb859d753c93568a81ed7e8534c72329490620e7d2c8b9026f25dbe2db6ec2c97dc", 8, 20000000000, "76358406"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 6, 0, "579033"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 6, 59, "579033"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 6, 60, "065895"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 6, 1111111109, "677931"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 6, 1234567890, "525002"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 6, 2000000000, "290982"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 6, 4294967295, "020083"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 6, 4294967296, "020083"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 6, 20000000000, "015172"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 7, 0, "1579033"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 7, 59, "1579033"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 7, 60, "1065895"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 7, 1111111109, "7677931"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 7, 1234567890, "9525002"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 7, 2000000000, "1290982"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 7, 4294967295, "8020083"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 7, 4294967296, "8020083"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 7, 20000000000, "8015172"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 8, 0, "41579033"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 8, 59, "41579033"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 8, 60, "31065895"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 8, 1111111109, "87677931"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 8, 1234567890, "89525002"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 8, 2000000000, "51290982"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 8, 4294967295, "08020083"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 8, 4294967296, "08020083"],
  ["SHA512", "c0c9da8f36d20ccceb78c55cc9a8539b88ab92590196793bea1c1ae751ea4497b490dd48f70183a892b6ca89ed4c34693504c237d138ff0d578b44a9dd223ef5", 8, 20000000000, "08015172"],
];

/** RFC 4226 §5.3 written plainly over node:crypto, for counters otpauth cannot take (above 2^53). */
function plainHotp(key: Uint8Array, counter: bigint, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(counter);
  const mac = createHmac("sha1", key).update(message).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits).padStart(digits, "0");
}

const HAS_OATHTOOL = requireTool(
  "oathtool",
  commandWorks("oathtool", ["--version"]),
  "the live oathtool cross-check is skipped (the recorded table still runs)",
);

describe.each(CORE_BUILDS)("TOTP interoperability, %s build", (build) => {
  const api = otpApi(build);

  it("matches the oathtool table (60 s step, SHA-1/256/512, 6-8 digits, times past 2^32)", () => {
    expect(OATHTOOL_TABLE.length).toBe(243);
    for (const [algorithm, key, digits, time, code] of OATHTOOL_TABLE) {
      expect(api.totp(fromHex(key), time, { algorithm, digits }), `${algorithm} ${digits} @${time}`).toBe(code);
    }
  });

  it.runIf(HAS_OATHTOOL)("matches oathtool run live on random keys and times", () => {
    const random = testRandom();
    for (let i = 0; i < 12; i++) {
      const algorithm = (["SHA1", "SHA256", "SHA512"] as const)[i % 3];
      const key = random.bytes([20, 32, 64][i % 3]);
      const digits = 6 + (i % 3);
      const time = random.int(0, 2 ** 40);
      const expected = execFileSync("oathtool", [
        `--totp=${algorithm.toLowerCase()}`,
        "-s",
        "60",
        "-d",
        String(digits),
        "-N",
        `@${time}`,
        key.toString("hex"),
      ])
        .toString()
        .trim();
      expect(api.totp(key, time, { algorithm, digits })).toBe(expected);
    }
  });

  it("matches otpauth and otplib on random keys, times, algorithms, digits and periods", () => {
    const random = testRandom();
    let otplibChecked = 0;
    for (let i = 0; i < 300; i++) {
      const algorithm = (["SHA1", "SHA256", "SHA512"] as const)[i % 3];
      const key = random.bytes(random.int(16, 80));
      const digits = 6 + random.int(0, 3);
      const period = [60, 30, 1, 86400, random.int(1, 86401)][i % 5];
      // otpauth takes milliseconds as a number: keep time * 1000 below 2^53.
      const time = random.int(0, 2 ** 43);
      const ours = api.totp(key, time, { algorithm, digits, period });
      const theirs = new OTPAuth.TOTP({
        secret: new OTPAuth.Secret({ buffer: new Uint8Array(key).buffer }),
        algorithm,
        digits,
        period,
      }).generate({ timestamp: time * 1000 });
      expect(ours, `${algorithm} ${digits} digits, period ${period}, time ${time}`).toBe(theirs);
      // otplib's guardrails refuse periods above 3600 s and secrets above 64 bytes.
      if (period <= 3600 && key.length <= 64) {
        expect(
          otplibGenerate({ secret: new Uint8Array(key), algorithm: algorithm.toLowerCase() as "sha1", digits, period, epoch: time }),
        ).toBe(ours);
        otplibChecked++;
      }
      const counter = random.int(0, 2 ** 47);
      expect(api.hotp(key, counter, { algorithm, digits })).toBe(
        new OTPAuth.HOTP({ secret: new OTPAuth.Secret({ buffer: new Uint8Array(key).buffer }), algorithm, digits }).generate({ counter }),
      );
    }
    expect(otplibChecked).toBeGreaterThan(100);
  });

  it("HOTP counters use all 64 bits (bigint), big-endian", () => {
    const key = testRandom().bytes(20);
    const top = (1n << 64n) - 1n;
    expect(api.hotp(key, top)).toMatch(/^\d{6}$/);
    // A counter above 2^32 must differ from its low half alone (the high word is really used).
    const codes = new Set([api.hotp(key, 1n << 32n), api.hotp(key, 0), api.hotp(key, 1n << 40n)]);
    expect(codes.size).toBe(3);
    for (const counter of [2n ** 53n + 12345n, top, 0xdeadbeef_cafebaben]) {
      expect(api.hotp(key, counter), `counter ${counter}`).toBe(plainHotp(key, counter));
    }
  });

  it("t0 shifts the steps; 60 s is the default period", () => {
    const key = randomBytes(20);
    expect(api.totp(key, 1000)).toBe(api.totp(key, 1000, { period: 60, t0: 0 }));
    expect(api.totp(key, 1000, { t0: 100 })).toBe(api.hotp(key, 15));
    expect(api.totp(key, 1000n, { t0: 100n })).toBe(api.hotp(key, 15));
    expect(api.totp(key, 99, { t0: 100 - 60 })).toBe(api.hotp(key, 0));
  });

  it("createTotp: same codes as one-shot, many generators alive at once, dispose zeroes the slot", () => {
    const keys = Array.from({ length: 120 }, (_, i) => randomBytes(20 + (i % 45)));
    const generators = keys.map((key, i) => api.createTotp(key, { algorithm: ["SHA1", "SHA256", "SHA512"][i % 3], digits: 6 + (i % 3) }));
    // 120 resident keys need more than one instance of 47 slots.
    expect(api.core.instanceCount).toBeGreaterThanOrEqual(3);
    const time = 1_700_000_000;
    generators.forEach((generator, i) => {
      expect(generator.generate(time)).toBe(
        api.totp(keys[i], time, { algorithm: ["SHA1", "SHA256", "SHA512"][i % 3], digits: 6 + (i % 3) }),
      );
    });
    for (const generator of generators) generator.dispose();
    expect(() => generators[0].generate(time)).toThrow(/disposed/);
  });

  it("verify: finds the step offset within the window, null outside it, nearest first", () => {
    const key = testRandom().bytes(20);
    const generator = api.createTotp(key);
    const now = 1_800_000_000;
    for (const offset of [-2, -1, 0, 1, 2]) {
      const code = generator.generate(now + offset * 60);
      const expected = Math.abs(offset) <= 1 ? offset : null;
      // A code of another step can equal this one by chance (1 in 10^6); skip that case.
      if (offset !== 0 && code === generator.generate(now)) continue;
      expect(generator.verify(code, now), `offset ${offset}`).toBe(expected);
      expect(generator.verify(code, now, { window: 2 })).toBe(offset);
    }
    expect(generator.verify(generator.generate(now + 60), now, { window: 0 })).toBe(null);
    // Near the epoch the window does not reach below counter 0.
    expect(generator.verify(generator.generate(0), 30, { window: 5 })).toBe(0);
    generator.dispose();
  });

  it("verify: a code shown both one step before and one step after now is matched to the earlier step (the tie rule)", () => {
    // Found by a search over the steps from 30,000,000 up for the RFC 6238 SHA-1 key: steps
    // 30586180 and 30586182 both give 287281, step 30586181 another code.
    const generator = api.createTotp(fromHex("3132333435363738393031323334353637383930"));
    const now = 30_586_181 * 60 + 30;
    expect([generator.generate(now - 60), generator.generate(now), generator.generate(now + 60)]).toEqual(["287281", "816877", "287281"]);
    expect(generator.verify("287281", now)).toBe(-1);
    expect(generator.verify("287281", now, { window: 2 })).toBe(-1);
    // The tie is broken by time, not by the order of the window: one step later the code at +1 is the nearest.
    expect(generator.verify("287281", now + 60)).toBe(0);
    expect(generator.verify("287281", now - 60, { window: 3 })).toBe(0);
    generator.dispose();
  });

  it("verifyTotp (one check, no slot held): the answer of createTotp().verify for every algorithm, digits, period, window and offset; the same errors", () => {
    const random = testRandom();
    const now = 1_900_000_000;
    let matched = 0;
    for (const algorithm of ["SHA1", "SHA256", "SHA512"] as const)
      for (const digits of [6, 8])
        for (const period of [30, 60]) {
          const key = random.bytes(algorithm === "SHA1" ? 20 : algorithm === "SHA256" ? 32 : 64);
          const options = { algorithm, digits, period };
          const generator = api.createTotp(key, options);
          for (const offset of [-3, -1, 0, 1, 2])
            for (const window of [0, 1, 2]) {
              const code = generator.generate(now + offset * period);
              const expected = generator.verify(code, now, { window });
              expect(api.verifyTotp(key, code, now, { ...options, window }), `${algorithm} ${digits} ${period} ${offset} ${window}`).toBe(
                expected,
              );
              if (expected !== null) matched++;
            }
          // A wrong code: null from both.
          const wrong = String((Number(generator.generate(now)) + 1) % 10 ** digits).padStart(digits, "0");
          expect(api.verifyTotp(key, wrong, now, { ...options, window: 0 })).toBe(generator.verify(wrong, now, { window: 0 }));
          generator.dispose();
        }
    expect(matched).toBeGreaterThan(60);
    const key = random.bytes(20);
    const generator = api.createTotp(key);
    for (const [code, time, window] of [
      ["12345", now, 1],
      [123456, now, 1],
      ["123456", now, -1],
      ["123456", now, 1001],
      ["123456", -1, 1],
    ] as const) {
      const expected = (() => {
        try {
          generator.verify(code as string, time, { window });
          return "no error";
        } catch (error) {
          return `${(error as Error).name}: ${(error as Error).message}`;
        }
      })();
      expect(expected).not.toBe("no error");
      expect(() => api.verifyTotp(key, code as string, time, { window })).toThrow(expected.slice(expected.indexOf(": ") + 2));
    }
    expect(() => api.verifyTotp(new Uint8Array(0), "123456", now)).toThrow(/key/);
    generator.dispose();
  });
});
