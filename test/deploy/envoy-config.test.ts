/**
 * The Envoy configurations we ship, validated against Envoy's message schema (field names, types,
 * enums, Any types, oneofs, required fields), since no Envoy binary runs here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { validateBootstrap, validateMessage } from './envoy-schema.js';
import { ROOT, parseManifests } from './helm.js';

const CONFIGS = ['deploy/compose/envoy.yaml', 'deploy/envoy/envoy-extproc.yaml'];
const read = (file: string): string => readFileSync(`${ROOT}${file}`, 'utf8');

type Json = Record<string, unknown>;
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v === null || typeof v !== 'object' ? undefined : (v as Json)[k as string]), value);

function extProcFilter(doc: unknown): Json {
  const filters = at(doc, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config', 'http_filters') as Json[];
  const f = filters.find((x) => x.name === 'envoy.filters.http.ext_proc');
  expect(f, 'ext_proc filter').toBeDefined();
  expect(filters.at(-1)?.name, 'the router comes last').toBe('envoy.filters.http.router');
  return f?.typed_config as Json;
}

describe.each(CONFIGS)('%s', (file) => {
  const doc = parseYaml(read(file)) as unknown;

  it('is a valid Envoy bootstrap', () => {
    expect(validateBootstrap(doc)).toEqual([]);
  });

  it('streams both bodies to the picker in FULL_DUPLEX_STREAMED with trailers sent', () => {
    expect(extProcFilter(doc).processing_mode).toEqual({
      request_header_mode: 'SEND',
      response_header_mode: 'SEND',
      request_body_mode: 'FULL_DUPLEX_STREAMED',
      response_body_mode: 'FULL_DUPLEX_STREAMED',
      request_trailer_mode: 'SEND',
      response_trailer_mode: 'SEND',
    });
    expect(at(extProcFilter(doc), 'grpc_service', 'envoy_grpc', 'cluster_name')).toBe('ext_proc');
  });

  it('routes by x-gateway-destination-endpoint through an ORIGINAL_DST cluster and talks HTTP/2 + TLS to the picker', () => {
    const clusters = at(doc, 'static_resources', 'clusters') as Json[];
    const dst = clusters.find((c) => c.name === 'original_destination_cluster');
    expect(dst).toMatchObject({ type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', original_dst_lb_config: { use_http_header: true, http_header_name: 'x-gateway-destination-endpoint' } });
    const ext = clusters.find((c) => c.name === 'ext_proc');
    expect(at(ext, 'typed_extension_protocol_options', 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions', 'explicit_http_config', 'http2_protocol_options')).toBeDefined();
    expect(at(ext, 'transport_socket', 'name')).toBe('envoy.transport_sockets.tls');
    const routes = at(doc, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config', 'route_config', 'virtual_hosts', 0, 'routes') as Json[];
    expect(at(routes[0], 'route', 'cluster')).toBe('original_destination_cluster');
  });
});

describe('the compose Envoy config', () => {
  it('accepts the picker destination metadata, forwards the subset hint and fails closed', () => {
    const f = extProcFilter(parseYaml(read('deploy/compose/envoy.yaml')));
    expect(f.metadata_options).toEqual({ forwarding_namespaces: { untyped: ['envoy.lb.subset_hint'] }, receiving_namespaces: { untyped: ['envoy.lb'] } });
    expect(f.failure_mode_allow).toBe(false);
    expect(f.allow_mode_override).toBe(true);
  });
});

describe('the body-based router EnvoyFilter (example 2)', () => {
  it('patches in a valid ext_proc HTTP filter', () => {
    const docs = parseManifests(read('deploy/examples/02-two-models-bbr/bbr.yaml'));
    const filter = docs.find((d) => d.kind === 'EnvoyFilter');
    const value = at(filter, 'spec', 'configPatches', 0, 'patch', 'value');
    expect(validateMessage('envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter', value)).toEqual([]);
    expect(at(value, 'typed_config', 'processing_mode', 'request_body_mode')).toBe('FULL_DUPLEX_STREAMED');
  });
});

describe('the Envoy schema check refuses', () => {
  const base = read('deploy/compose/envoy.yaml');
  const problems = (from: string, to: string): string[] => {
    expect(base).toContain(from);
    return validateBootstrap(parseYaml(base.replace(from, to)));
  };

  it('a misspelled field', () => {
    expect(problems('use_http_header: true', 'use_http_headers: true')).toEqual([expect.stringMatching(/original_dst_lb_config\.use_http_headers: unknown field of envoy\.config\.cluster\.v3\.Cluster\.OriginalDstLbConfig/)]);
    expect(problems('allow_mode_override: true', 'allow_mode_overide: true')).toEqual([expect.stringMatching(/allow_mode_overide: unknown field of envoy\.extensions\.filters\.http\.ext_proc\.v3\.ExternalProcessor/)]);
  });

  it('a value of the wrong type', () => {
    expect(problems('port_value: 8080', 'port_value: eighty')).toEqual([expect.stringMatching(/socket_address\.port_value: expected uint32/)]);
    expect(problems('connect_timeout: 5s', 'connect_timeout: 5')).toEqual([expect.stringMatching(/connect_timeout: expected a duration/)]);
    expect(problems('failure_mode_allow: false', 'failure_mode_allow: "no"')).toEqual([expect.stringMatching(/failure_mode_allow: expected bool/)]);
  });

  it('an enum value Envoy does not define', () => {
    expect(problems('request_body_mode: FULL_DUPLEX_STREAMED', 'request_body_mode: FULL_DUPLEX')).toEqual([expect.stringMatching(/request_body_mode: "FULL_DUPLEX" is not a value of enum/)]);
  });

  it('an unknown @type', () => {
    expect(problems('ext_proc.v3.ExternalProcessor', 'ext_proc.v3.ExternalProcesor')).toEqual([expect.stringMatching(/\["@type"\]: unknown message type/)]);
  });

  it('two members of one oneof, and a required field left out', () => {
    expect(problems('              processing_mode:', '              http_service: {}\n              processing_mode:')).toEqual([expect.stringMatching(/oneof ext_proc_service_type already set/)]);
    expect(problems('route: {cluster: original_destination_cluster, timeout: 86400s}', 'route: {timeout: 86400s}')).toEqual([expect.stringMatching(/one of .*cluster.* is required in envoy\.config\.route\.v3\.RouteAction/)]);
  });

  it('a deprecated field', () => {
    expect(problems('    connect_timeout: 5s\n    original_dst_lb_config', '    connect_timeout: 5s\n    http2_protocol_options: {}\n    original_dst_lb_config')).toEqual([
      expect.stringMatching(/clusters\[0\]\.http2_protocol_options: deprecated field/),
    ]);
  });
});
