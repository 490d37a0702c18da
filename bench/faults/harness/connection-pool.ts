/** Several client connections of one kind; streams are spread round-robin over the usable ones. */
import type { StreamOpener, StreamRecord } from './stream-record.js';

/** What the pool needs of a connection (the node:http2 client and the frame-level client both are). */
export interface PooledConnection<S extends StreamRecord> {
  readonly usable: boolean;
  readonly closed: boolean;
  /** True when this side closed it. */
  readonly closedByUs: boolean;
  readonly goaways: readonly unknown[];
  open(): S;
  destroy(): void;
}

export abstract class ConnectionPool<S extends StreamRecord, C extends PooledConnection<S>> implements StreamOpener {
  readonly connections: C[] = [];
  #next = 0;

  /** Adds `size` connections made one after another by `connect`. */
  protected async connectAll(connect: () => Promise<C>, size: number): Promise<void> {
    for (let i = 0; i < size; i++) this.connections.push(await connect());
  }

  /** Opens a stream on the next usable connection; undefined when none is usable. */
  open(): S | undefined {
    for (let i = 0; i < this.connections.length; i++) {
      const c = this.connections[this.#next++ % this.connections.length];
      if (c?.usable === true) return c.open();
    }
    return undefined;
  }

  get goaways(): number {
    return this.connections.reduce((n, c) => n + c.goaways.length, 0);
  }

  /** Connections that closed while we had not closed them. */
  get closes(): number {
    return this.connections.filter((c) => c.closed && !c.closedByUs).length;
  }

  destroy(): void {
    for (const c of this.connections) c.destroy();
  }
}
