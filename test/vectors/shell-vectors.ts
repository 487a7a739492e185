// Shell vectors: [typed input, expected console output]. "\r" is Enter, "\b" a
// backspace. The prompt is printed by run(), not by input(), so it appears
// after each Enter only.
export const SHELL_VECTORS: [string, string][] = [
  ['version\r', 'version\r\nACRN-TS 0.1.0\r\nACRN:\\>'],
  ['echo a b\r', 'echo a b\r\na b\r\nACRN:\\>'],
  ['  echo   spaced\r', '  echo   spaced\r\nspaced\r\nACRN:\\>'],
  ['ecko\b\bho x\r', 'ecko\b \b\b \bho x\r\nx\r\nACRN:\\>'],
  ['nope\r', 'nope\r\nerror: unknown command "nope"; type help\r\nACRN:\\>'],
  ['\r', '\r\nACRN:\\>'],
  ['\b\b', ''],
  ['versionx\r', 'versionx\r\nerror: unknown command "versionx"; type help\r\nACRN:\\>'],
];
