/**
 * A throwaway PKI for TLS tests: a CA, a server certificate for 127.0.0.1 (IP SAN) and a client
 * certificate, both signed by the CA, and a second CA that signed neither. EC keys, so it takes
 * milliseconds.
 */
import { generate } from 'selfsigned';

export interface TestPki {
  readonly ca: string;
  readonly otherCa: string;
  readonly server: { readonly cert: string; readonly key: string };
  readonly client: { readonly cert: string; readonly key: string };
}

async function makeCa(name: string): Promise<{ cert: string; key: string }> {
  const ca = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true },
    ],
  });
  return { cert: ca.cert, key: ca.private };
}

export async function testPki(): Promise<TestPki> {
  const ca = await makeCa('test-ca');
  const other = await makeCa('other-ca');
  const server = await generate([{ name: 'commonName', value: 'model-server' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const client = await generate([{ name: 'commonName', value: 'epp' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });
  return { ca: ca.cert, otherCa: other.cert, server: { cert: server.cert, key: server.private }, client: { cert: client.cert, key: client.private } };
}
