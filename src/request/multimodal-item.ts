/** One image, video or audio clip of a request (extracted by multimodal-items.ts). */

export type Modality = 'image' | 'video' | 'audio';

export interface MultimodalItem {
  readonly modality: Modality;
  /** Identifies the content: 16 hex digits, or the client's own hash (vLLM generate features). */
  readonly hash: string;
  /** Pixel size of an inline image read from its header; 0 × 0 when unknown (a URL, another format). */
  readonly width: number;
  readonly height: number;
  /** Characters of the hashed content (audio placeholders are sized from it). */
  readonly contentChars: number;
}
