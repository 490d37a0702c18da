/** The v0.10 serve flags' parsing and validation: byte sizes, TLS policy, metrics TLS combinations. */
import { describe, expect, it } from 'vitest';
import { parseByteSize } from '../../../src/cli/byte-size.js';
import { grpcMessageSize, metricsTlsFlags, serveCommand, tlsPolicyFlags } from '../../../src/cli/commands/serve.js';
import { Flags, parseFlags, UsageError } from '../../../src/cli/flags.js';
import { GO_CIPHER_SUITES, tlsPolicy } from '../../../src/extproc/tls-policy.js';

const flagsOf = (args: string[]): Flags => {
  const { values, given } = parseFlags(serveCommand.flags, args);
  return new Flags(values, given);
};

describe('--grpc-max-*-msg-size', () => {
  it.each([
    ['4194304', 4_194_304],
    ['10MiB', 10 * 2 ** 20],
    ['10Mi', 10 * 2 ** 20],
    ['25MB', 25_000_000],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['64KiB', 65_536],
    ['1e6', 1_000_000],
    [' 2k ', 2000],
    ['1.1k', 1100],
    ['0', 0],
  ])('reads %j as %d bytes, like a Kubernetes quantity', (text, bytes) => {
    expect(parseByteSize('grpc-max-recv-msg-size', text)).toBe(bytes);
  });

  it.each(['', 'ten', '-1', '10 MiB', '1.5', '25m', '10XB', '1e400'])('rejects %j', (text) => {
    expect(() => parseByteSize('grpc-max-recv-msg-size', text)).toThrow(UsageError);
  });

  it('is unset when absent or 0, as in the reference', () => {
    expect(grpcMessageSize(flagsOf([]), 'grpc-max-recv-msg-size')).toBeUndefined();
    expect(grpcMessageSize(flagsOf(['--grpc-max-recv-msg-size=0']), 'grpc-max-recv-msg-size')).toBeUndefined();
    expect(grpcMessageSize(flagsOf(['--grpc-max-send-msg-size=8MiB']), 'grpc-max-send-msg-size')).toBe(8 * 2 ** 20);
  });
});

describe('--tls-min-version / --tls-cipher-suites', () => {
  it('maps Go names to Node options; TLS 1.3 suite names are accepted and left alone', () => {
    expect(tlsPolicyFlags(flagsOf([]))).toEqual({});
    expect(tlsPolicyFlags(flagsOf(['--tls-min-version=VersionTLS13']))).toEqual({ minVersion: 'TLSv1.3' });
    expect(tlsPolicyFlags(flagsOf(['--tls-cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_AES_128_GCM_SHA256']))).toEqual({
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305',
    });
    expect(tlsPolicy('VersionTLS12', ['TLS_AES_256_GCM_SHA384'])).toEqual({ minVersion: 'TLSv1.2' });
  });

  it('every secure Go suite maps to a cipher this OpenSSL knows', () => {
    const secure = Object.keys(GO_CIPHER_SUITES).filter((n) => !/RC4|3DES/.test(n));
    for (const name of secure) expect(() => tlsPolicy('', [name])).not.toThrow();
  });

  it('unknown names, and suites OpenSSL 3 has dropped, are usage errors', () => {
    expect(() => tlsPolicyFlags(flagsOf(['--tls-min-version=TLS1.2']))).toThrow(/unknown TLS version "TLS1.2"; supported values: VersionTLS10/);
    expect(() => tlsPolicyFlags(flagsOf(['--tls-cipher-suites=ECDHE-RSA-AES128-GCM-SHA256']))).toThrow(UsageError);
    expect(() => tlsPolicyFlags(flagsOf(['--tls-cipher-suites=ECDHE-RSA-AES128-GCM-SHA256']))).toThrow(/unknown cipher suite "ECDHE-RSA-AES128-GCM-SHA256"/);
    expect(() => tlsPolicyFlags(flagsOf(['--tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA']))).toThrow(/not available|none of/);
  });
});

describe('--metrics-cert-dir / --metrics-client-ca-file', () => {
  it('checks the combinations as the reference does', () => {
    expect(metricsTlsFlags(flagsOf([]))).toBeUndefined();
    expect(metricsTlsFlags(flagsOf(['--metrics-cert-dir=/c']))).toEqual({ certDir: '/c', clientCaFile: '' });
    expect(metricsTlsFlags(flagsOf(['--metrics-cert-dir=/c', '--metrics-client-ca-file=/ca.pem', '--metrics-endpoint-auth=false']))).toEqual({ certDir: '/c', clientCaFile: '/ca.pem' });
    expect(() => metricsTlsFlags(flagsOf(['--metrics-client-ca-file=/ca.pem']))).toThrow('--metrics-client-ca-file requires --metrics-cert-dir');
    expect(() => metricsTlsFlags(flagsOf(['--metrics-cert-dir=/c', '--metrics-endpoint-auth=false']))).toThrow(/without authentication/);
  });
});

describe('serve command line', () => {
  it('rejects `--secure-serving false` and bad ports', () => {
    expect(() => flagsOf(['--endpoints-file=/x', '--secure-serving', 'false'])).toThrow('a boolean flag takes its value as --secure-serving=false');
    expect(() => flagsOf(['--grpc-port=70000'])).toThrow('invalid port "70000" for flag --grpc-port');
    expect(() => flagsOf(['--metrics-port=-1'])).toThrow(UsageError);
  });
});
