/**
 * A bound on the values one kind of metric label takes when clients choose them (model names), as
 * llm-d-router's `BoundedLabel` (pkg/common/observability/metrics/cardinality.go), plus a length bound:
 *
 * - at most `limit` distinct values are admitted (first come); later new ones report as `other`;
 * - a value once admitted always reports as itself, so paired updates (gauge inc/dec) stay balanced;
 * - pinned values (names the operator configured) always report as themselves and take no slot;
 * - `''` reports as `''`;
 * - ours: a value longer than MAX_LABEL_VALUE_BYTES UTF-8 bytes reports as `other` and is never
 *   stored, pinned or not. The count cap alone bounds the number of series, not their size: 300
 *   requests with distinct 1 MB model names made a 300 MB label set and an unrenderable page.
 *
 * Prometheus never forgets a series, so neither does this: nothing is ever evicted.
 */

/** What a value beyond the bounds reports as (the reference's overflow value). */
export const OTHER_LABEL = 'other';

/**
 * Longest label value admitted, in UTF-8 bytes. Real model names are far shorter (Hugging Face ids are
 * `org/name` with each part at most 96 characters; LoRA adapter names and served-model-name aliases
 * are shorter still), and 256 keeps Kubernetes-style names (≤ 253) intact. At the count cap a
 * model's ~75 exported lines then cost at most ~45 KB of page instead of an unbounded amount.
 */
export const MAX_LABEL_VALUE_BYTES = 256;

/** The reference's cap on distinct model-name values (`maxModelLabelValues`). */
export const DEFAULT_MAX_LABEL_VALUES = 1000;

export class BoundedLabel {
  /** Admitted value → true when pinned (takes no slot). */
  readonly #admitted = new Map<string, boolean>();
  #counted = 0;

  constructor(readonly limit = DEFAULT_MAX_LABEL_VALUES) {}

  /** The label value to report for `value`. One Map lookup for an admitted value. */
  bound(value: string): string {
    // `.length` counts UTF-16 units, each at least one UTF-8 byte: longer is over the byte bound.
    if (value.length > MAX_LABEL_VALUE_BYTES) return OTHER_LABEL;
    if (this.#admitted.has(value) || value === '') return value;
    if (this.#counted >= this.limit || !fitsBytes(value)) return OTHER_LABEL;
    this.#admitted.set(value, false);
    this.#counted++;
    return value;
  }

  /**
   * Always admits `value` from now on, without taking a slot (an admitted value gives its slot back).
   * Returns false, pinning nothing, for `''` and for values over MAX_LABEL_VALUE_BYTES. Pins are never
   * removed: a name deconfigured later keeps reporting as itself, as its series persist anyway.
   */
  pin(value: string): boolean {
    if (value === '' || value.length > MAX_LABEL_VALUE_BYTES || !fitsBytes(value)) return false;
    const pinned = this.#admitted.get(value);
    if (pinned === true) return true;
    if (pinned === false) this.#counted--;
    this.#admitted.set(value, true);
    return true;
  }

  /** Admitted values that take a slot (pinned ones excluded). */
  get counted(): number {
    return this.#counted;
  }
}

function fitsBytes(value: string): boolean {
  // A UTF-16 unit is at most 3 UTF-8 bytes (a surrogate pair, two units, is 4).
  return value.length * 3 <= MAX_LABEL_VALUE_BYTES || Buffer.byteLength(value, 'utf8') <= MAX_LABEL_VALUE_BYTES;
}
