/**
 * Issue 14's done-when "`/v1/messages` works with the official Anthropic TypeScript client": the
 * `@anthropic-ai/sdk` client, pointed at the local gateway (as `epp demo` runs it: gateway → picker
 * with the default config → mock replicas), creates a message and streams one, and a bad request
 * comes back as the SDK's BadRequestError.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { startGateway, type GatewayServer } from '../../src/gateway/gateway.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { startTestPicker } from '../helpers/picker.js';

const MODEL = 'claude-mock';
let mocks: MockVllmServer[] = [];
let picker: PickerServer;
let gateway: GatewayServer;
let client: Anthropic;

beforeAll(async () => {
  mocks = await Promise.all([0, 1].map((i) => startMockVllm({ host: `127.0.0.${151 + i}`, port: 0, model: MODEL, podName: `sdk-pod-${i}`, profile: 'none' })));
  picker = await startTestPicker({ config: 'default', discovery: { endpoints: mocks.map((m, i) => ({ name: `s${i}`, address: m.host, port: m.port, labels: {} })) } });
  await vi.waitFor(() => expect(picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
  gateway = await startGateway({ host: '127.0.0.1', port: 0, epp: `127.0.0.1:${picker.grpcPort}` });
  client = new Anthropic({ apiKey: 'not-checked', baseURL: gateway.url, maxRetries: 0, timeout: 10_000 });
});

afterAll(async () => {
  await gateway.close();
  await picker.shutdown(1000);
  await Promise.all(mocks.map((m) => m.close()));
});

describe('the official Anthropic TypeScript client through the gateway and the picker', () => {
  it('creates a message', async () => {
    const message = await client.messages.create({ model: MODEL, max_tokens: 5, system: 'You are terse.', messages: [{ role: 'user', content: 'Say hello.' }] });
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.model).toBe(MODEL);
    expect(message.content[0]?.type).toBe('text');
    expect(message.usage.output_tokens).toBe(5);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
  });

  it('streams a message: text deltas add up to the final message, whose usage is complete', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 6, messages: [{ role: 'user', content: [{ type: 'text', text: 'Stream please.' }] }] });
    let text = '';
    stream.on('text', (delta) => {
      text += delta;
    });
    const final = await stream.finalMessage();
    const block = final.content[0];
    expect(block?.type).toBe('text');
    expect(block?.type === 'text' ? block.text : '').toBe(text);
    expect(text.length).toBeGreaterThan(0);
    expect(final.usage.output_tokens).toBe(6);
    expect(final.stop_reason).not.toBeNull();
  });

  it('counts tokens', async () => {
    const counted = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'How many tokens is this?' }] });
    expect(counted.input_tokens).toBeGreaterThan(0);
  });

  it('surfaces a request the picker refuses as the SDK BadRequestError', async () => {
    // An empty message list is refused by the anthropic parser (400) before it reaches a replica.
    await expect(client.messages.create({ model: MODEL, max_tokens: 5, messages: [] })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });
});
