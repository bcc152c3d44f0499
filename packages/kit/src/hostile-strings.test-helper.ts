/** Strings that break naive SQL and wire encoders: quotes, backslashes, NUL, control characters, multi-byte UTF-8, a parameter placeholder, empty. Shared by the escaping and encoding tests. */
export const HOSTILE: readonly string[] = [
  "plain",
  "it's",
  "''",
  "back\\slash",
  "\\'",
  "ends with backslash\\",
  "nul\0inside",
  "new\nline\r\nand\ttab",
  "'; DROP TABLE t; --",
  "emoji 🚀 and ünïcödé",
  "\u0001\u001f\u007f",
  "{x:String}",
  "",
];
