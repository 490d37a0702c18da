/**
 * deploy/compose: the docker-compose stack is consistent — the picker's endpoints file names the mock
 * replicas' fixed addresses, Envoy reaches the picker at its address, and every command line parses
 * with the `epp` command it runs. (Its envoy.yaml is schema-checked in envoy-config.test.ts.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { mockVllmCommand } from '../../src/cli/commands/mock-vllm.js';
import { serveCommand } from '../../src/cli/commands/serve.js';
import { parseFlags } from '../../src/cli/flags.js';
import { parseEndpointsFile } from '../../src/discovery/endpoints-file.js';
import { ENGINE_PROFILES } from '../../src/engine/profiles.js';
import { ROOT } from './helm.js';

// Only the commands' flag tables are needed: keep the server stacks they start out of this test file.
vi.mock('../../src/app.js', () => ({}));
vi.mock('../../src/kube/kube-client.js', () => ({}));

const DIR = `${ROOT}deploy/compose/`;
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  entrypoint?: string[];
  command?: string[];
  volumes?: string[];
  ports?: string[];
  networks: { inference: { ipv4_address: string } };
}
const compose = parseYaml(readFileSync(`${DIR}docker-compose.yaml`, 'utf8'), { merge: true }) as { services: Record<string, Service>; networks: { inference: { ipam: { config: { subnet: string }[] } } } };
const services = compose.services;
const ip = (name: string): string => services[name]?.networks.inference.ipv4_address ?? '';

describe('deploy/compose', () => {
  it('runs Envoy, the picker and three mock vLLM replicas, the last two from this repository image', () => {
    expect(Object.keys(services).sort()).toEqual(['envoy', 'epp', 'vllm-0', 'vllm-1', 'vllm-2']);
    expect(services.envoy?.image).toMatch(/^envoyproxy\/envoy:v1\.\d+/);
    for (const name of ['epp', 'vllm-0', 'vllm-1', 'vllm-2']) {
      expect(services[name]?.build, name).toEqual({ context: '../..', dockerfile: 'Dockerfile' });
      expect(existsSync(`${DIR}../../Dockerfile`)).toBe(true);
    }
    expect(compose.networks.inference.ipam.config[0]?.subnet).toBe('172.28.0.0/24');
  });

  it('mounts files that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) expect(existsSync(`${DIR}${v.split(':')[0] ?? ''}`), `${name}: ${v}`).toBe(true);
    }
  });

  it('starts the picker with `epp serve` flags that parse, on the endpoints file of the three replicas', () => {
    const { values } = parseFlags(serveCommand.flags, services.epp?.command ?? []);
    expect(values).toMatchObject({ 'endpoints-file': '/etc/epp/endpoints.yaml', 'grpc-port': 9002, 'secure-serving': true });
    const endpoints = parseEndpointsFile(readFileSync(`${DIR}endpoints.yaml`, 'utf8'), 'endpoints.yaml');
    expect(endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['vllm-0', 'vllm-1', 'vllm-2'].map((n) => `${ip(n)}:8000`));
  });

  it('starts each replica with `epp mock-vllm` flags that parse and a known engine profile', () => {
    for (const n of ['vllm-0', 'vllm-1', 'vllm-2']) {
      expect(services[n]?.entrypoint).toEqual(['epp', 'mock-vllm']);
      const { values } = parseFlags(mockVllmCommand.flags, services[n]?.command ?? []);
      expect(values.port).toBe(8000);
      expect(ENGINE_PROFILES.has(String(values.profile)), String(values.profile)).toBe(true);
    }
  });

  it('points Envoy at the picker address with TLS, as the picker serves it', () => {
    const envoy = readFileSync(`${DIR}envoy.yaml`, 'utf8');
    expect(envoy).toContain(`address: ${ip('epp')}, port_value: 9002`);
    expect(envoy).toContain('UpstreamTlsContext');
    expect(services.envoy?.volumes).toContain('./envoy.yaml:/etc/envoy/envoy.yaml:ro');
    expect(services.envoy?.ports).toContain('8080:8080');
  });
});
