import { describe, expect, it } from 'vitest';
import { destinationFromMetadata, firstValidEndpoint, parseEndpoint } from '../../src/gateway/destination.js';

describe('destination parsing', () => {
  it('accepts IPv4 and bracketed IPv6 with a port', () => {
    expect(parseEndpoint('10.0.0.1:8000')).toEqual({ host: '10.0.0.1', port: 8000, address: '10.0.0.1:8000' });
    expect(parseEndpoint(' [::1]:8000 ')).toEqual({ host: '::1', port: 8000, address: '[::1]:8000' });
  });

  it('rejects what ORIGINAL_DST cannot use', () => {
    for (const bad of ['', 'host:80', '10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', '::1:80', '[10.0.0.1]:80', '[::1]', '999.0.0.1:80', '10.0.0.1:80x']) {
      expect(parseEndpoint(bad), bad).toBeUndefined();
    }
  });

  it('takes the first valid entry of a comma list', () => {
    expect(firstValidEndpoint('bogus, 10.0.0.1:0 ,[fe80::1]:9000,10.0.0.2:80')?.address).toBe('[fe80::1]:9000');
    expect(firstValidEndpoint('bogus,,')).toBeUndefined();
  });

  it('reads envoy.lb metadata as a string or a list of strings', () => {
    const value = (v: object): Parameters<typeof destinationFromMetadata>[0] => ({
      fields: { 'envoy.lb': { structValue: { fields: { 'x-gateway-destination-endpoint': v } } } },
    });
    expect(destinationFromMetadata(value({ stringValue: '10.0.0.1:80', kind: 'stringValue' }))).toBe('10.0.0.1:80');
    expect(destinationFromMetadata(value({ listValue: { values: [{ stringValue: 'a:1' }, { stringValue: 'b:2' }] }, kind: 'listValue' }))).toBe('a:1,b:2');
    expect(destinationFromMetadata({ fields: { other: { structValue: { fields: {} } } } })).toBeUndefined();
    expect(destinationFromMetadata(undefined)).toBeUndefined();
  });
});
