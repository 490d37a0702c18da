/**
 * Server credentials for the ext_proc port. With `--secure-serving` and no `--cert-path`, a
 * self-signed certificate is made at start (as the reference does; gateways connect without
 * verification). With `--cert-path DIR`, `DIR/tls.crt` and `DIR/tls.key` are loaded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

// Runs in a worker thread: the certificate library (~3.5 MB of heap with its ASN.1 and X.509
// dependencies) is needed once, and every full collection of the picker's heap would mark it.
const GENERATE_IN_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.module).then(async ({ generate }) => {
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 10);
  const pems = await generate(
    [{ name: 'commonName', value: 'localhost' }, { name: 'organizationName', value: 'Inference Ext' }],
    {
      keySize: workerData.keySize,
      algorithm: 'sha256',
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
      ],
    },
  );
  parentPort.postMessage({ cert: pems.cert, key: pems.private });
});
`;

/** A self-signed server certificate (RSA, 10 years, Org "Inference Ext", CN localhost), made in a worker thread. */
export function selfSignedCertificate(keySize = 4096): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(GENERATE_IN_WORKER, { eval: true, workerData: { keySize, module: import.meta.resolve('selfsigned') } });
    let pair: KeyPair | undefined;
    worker.once('message', (m: KeyPair) => {
      pair = m;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (pair !== undefined) resolve(pair);
      else reject(new Error(`certificate generation failed (worker exit code ${code})`));
    });
  });
}

export function loadCertificate(dir: string): KeyPair {
  return { cert: readFileSync(join(dir, 'tls.crt'), 'utf8'), key: readFileSync(join(dir, 'tls.key'), 'utf8') };
}
