// Characters a profile label may use: exactly what the display font draws.

export function labelCharacter(c: u32): bool {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x20 || c == 0x2d || c == 0x2e || c == 0x2f || c == 0x3a;
}
