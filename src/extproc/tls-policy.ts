/**
 * `--tls-min-version` and `--tls-cipher-suites` as the reference takes them (Go `crypto/tls` names),
 * turned into Node's TLS options. As in the reference, cipher suites only govern TLS 1.2 and below:
 * TLS 1.3 names are accepted and leave OpenSSL's TLS 1.3 suites as they are.
 */
import { createSecureContext, type SecureVersion } from 'node:tls';

/** What the flags set on a TLS server; empty when neither flag is given. */
export interface TlsPolicy {
  readonly minVersion?: SecureVersion;
  /** OpenSSL cipher list for TLS ≤ 1.2 (`ciphers`). */
  readonly ciphers?: string;
}

const VERSIONS: Readonly<Record<string, SecureVersion>> = {
  VersionTLS10: 'TLSv1',
  VersionTLS11: 'TLSv1.1',
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
};

/** Go's names (`tls.CipherSuites()` and `tls.InsecureCipherSuites()`) → OpenSSL's; '' for TLS 1.3 suites, which are not configurable. */
export const GO_CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_AES_128_GCM_SHA256: '',
  TLS_AES_256_GCM_SHA384: '',
  TLS_CHACHA20_POLY1305_SHA256: '',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
};

/** A flag value the policy cannot take; the CLI reports it as a usage error. */
export class TlsPolicyError extends Error {
  override readonly name = 'TlsPolicyError';
}

/** Builds the policy from the two flags ('' / [] = unset). Unknown names, and suites this OpenSSL lacks, are errors. */
export function tlsPolicy(minVersion: string, cipherSuites: readonly string[]): TlsPolicy {
  let version: SecureVersion | undefined;
  if (minVersion !== '') {
    version = Object.hasOwn(VERSIONS, minVersion) ? VERSIONS[minVersion] : undefined;
    if (version === undefined) throw new TlsPolicyError(`--tls-min-version: unknown TLS version "${minVersion}"; supported values: ${Object.keys(VERSIONS).join(', ')}`);
  }
  const openssl: string[] = [];
  for (const raw of cipherSuites) {
    const name = raw.trim();
    if (name === '') continue;
    const mapped = Object.hasOwn(GO_CIPHER_SUITES, name) ? GO_CIPHER_SUITES[name] : undefined;
    if (mapped === undefined) throw new TlsPolicyError(`--tls-cipher-suites: unknown cipher suite "${name}" (Go crypto/tls names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`);
    if (mapped !== '') openssl.push(mapped);
  }
  const policy: TlsPolicy = { ...(version === undefined ? {} : { minVersion: version }), ...(openssl.length === 0 ? {} : { ciphers: openssl.join(':') }) };
  if (policy.ciphers !== undefined) {
    try {
      createSecureContext({ ciphers: policy.ciphers });
    } catch (err) {
      throw new TlsPolicyError(`--tls-cipher-suites: none of ${cipherSuites.join(',')} is available in this build's OpenSSL (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return policy;
}
