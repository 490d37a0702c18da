/**
 * Truncation for strings a client controls (model names, request ids, header values, error messages
 * quoting input) before they are written to a log line: a client must not be able to make one line,
 * or the log pipeline behind it, as large as its request.
 */

/** Longest client-controlled string written to a log, in UTF-16 code units (what `.length` counts). */
export const LOG_TEXT_MAX = 256;

/**
 * `text` when it has at most `max` code units; otherwise its first `max` (one fewer when that would
 * split a surrogate pair) followed by `…(N chars)`, N being the original length. O(1) for short text.
 */
export function boundedText(text: string, max = LOG_TEXT_MAX): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  const cut = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return `${text.slice(0, cut)}…(${text.length} chars)`;
}
