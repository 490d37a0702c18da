/**
 * Server credentials for the ext_proc port. With `--secure-serving` and no `--cert-path`, a
 * self-signed certificate is made at start (as the reference does; gateways connect without
 * verification). With `--cert-path DIR`, `DIR/tls.crt` and `DIR/tls.key` are loaded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerCredentials } from '@grpc/grpc-js';
import { generate } from 'selfsigned';

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

/** A self-signed server certificate (RSA, 10 years, Org "Inference Ext", CN localhost). */
export async function selfSignedCertificate(keySize = 4096): Promise<KeyPair> {
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 10);
  const pems = await generate(
    [
      { name: 'commonName', value: 'localhost' },
      { name: 'organizationName', value: 'Inference Ext' },
    ],
    {
      keySize,
      algorithm: 'sha256',
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
      ],
    },
  );
  return { cert: pems.cert, key: pems.private };
}

export function loadCertificate(dir: string): KeyPair {
  return { cert: readFileSync(join(dir, 'tls.crt'), 'utf8'), key: readFileSync(join(dir, 'tls.key'), 'utf8') };
}

export function serverCredentials(pair: KeyPair | undefined): ServerCredentials {
  if (pair === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(pair.cert), private_key: Buffer.from(pair.key) }], false);
}
