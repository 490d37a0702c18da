/** The reference's estimate of characters (UTF-8 bytes) per token: a block of B tokens is 4·B bytes. */
export const CHARS_PER_TOKEN = 4;
