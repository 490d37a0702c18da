/** Where the load test reads time from: injected so tests control every measured duration. */

/** A monotonic clock in milliseconds (any origin; only differences are meaningful). */
export interface Clock {
  now(): number;
}

/** `performance.now()`: monotonic, sub-millisecond. */
export const systemClock: Clock = { now: () => performance.now() };
