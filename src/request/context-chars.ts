/**
 * Characters of the text a request gives the model: chat message contents (strings, or the `text`
 * of content parts) plus the completion prompt (a string, or an array of strings). What
 * `context-length-aware` turns into an estimated context length.
 */
export function contextCharacters(body: Readonly<Record<string, unknown>>): number {
  let chars = 0;
  const messages = body.messages;
  if (Array.isArray(messages)) {
    for (const m of messages as unknown[]) {
      if (typeof m === 'object' && m !== null) chars += textLength((m as { content?: unknown }).content);
    }
  }
  return chars + textLength(body.prompt);
}

function textLength(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (!Array.isArray(value)) return 0;
  let n = 0;
  for (const part of value as unknown[]) {
    if (typeof part === 'string') n += part.length;
    else if (typeof part === 'object' && part !== null) {
      const text = (part as { text?: unknown }).text;
      if (typeof text === 'string') n += text.length;
    }
  }
  return n;
}
