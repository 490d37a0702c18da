/**
 * `--enable-cert-reload`: watches the `--cert-path` directory and, once it has been quiet for
 * `debounceMs` after a change (the reference: 250 ms), loads `tls.crt` and `tls.key` again. A pair
 * that does not load (unreadable, not PEM, key not matching the certificate) is logged and the
 * serving certificate is kept. Kubernetes updates a mounted Secret by swapping a symlink, which
 * shows as events on the directory, so the directory is watched rather than the files.
 */
import { watch, type FSWatcher } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../observability/logger.js';
import { loadCertificate, type KeyPair } from './tls.js';

export interface CertReloaderOptions {
  readonly dir: string;
  /** Installs a validated pair for new handshakes. */
  readonly apply: (pair: KeyPair) => void;
  readonly logger: Logger;
  readonly debounceMs?: number;
}

export class CertReloader {
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reloads = 0;
  #failures = 0;

  constructor(private readonly options: CertReloaderOptions) {}

  /** Successful reloads and rejected pairs so far. */
  get counts(): { readonly reloads: number; readonly failures: number } {
    return { reloads: this.#reloads, failures: this.#failures };
  }

  start(): void {
    this.#watcher = watch(this.options.dir, () => this.#changed());
    this.#watcher.on('error', (err: Error) => this.options.logger.warn({ err: err.message, dir: this.options.dir }, 'certificate directory watch failed; certificates will not be reloaded'));
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Loads and applies the pair now; false (and the old pair kept) when it does not load. */
  reload(): boolean {
    let pair: KeyPair;
    try {
      pair = loadCertificate(this.options.dir);
      // Throws for a PEM that does not parse or a key that does not match the certificate.
      createSecureContext({ cert: pair.cert, key: pair.key });
    } catch (err) {
      this.#failures++;
      this.options.logger.warn({ err: err instanceof Error ? err.message : String(err), dir: this.options.dir }, 'certificate reload failed; keeping the current certificate');
      return false;
    }
    this.options.apply(pair);
    this.#reloads++;
    this.options.logger.info({ dir: this.options.dir }, 'certificate reloaded');
    return true;
  }

  #changed(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.reload();
    }, this.options.debounceMs ?? 250);
    this.#timer.unref();
  }
}
