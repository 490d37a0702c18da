import type { ServerResponse } from 'node:http';
import { badRequest, notFound } from './api-error.js';
import { sendText } from './http-io.js';
import type { LoraRegistry } from './lora-registry.js';

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

/** `POST /v1/load_lora_adapter {"lora_name","lora_path"}`, answered as vLLM does (plain-text success). */
export function loadLoraAdapter(registry: LoraRegistry, body: Record<string, unknown>, res: ServerResponse): void {
  const { lora_name: name, lora_path: path } = body;
  if (!nonEmptyString(name) || !nonEmptyString(path)) throw badRequest("Both 'lora_name' and 'lora_path' must be provided.");
  if (!registry.load({ name, path })) throw badRequest(`The lora adapter '${name}' has already been loaded.`);
  sendText(res, 200, 'text/plain; charset=utf-8', `Success: LoRA adapter '${name}' added successfully.`);
}

/** `POST /v1/unload_lora_adapter {"lora_name"}`; an unknown adapter is a 404. */
export function unloadLoraAdapter(registry: LoraRegistry, body: Record<string, unknown>, res: ServerResponse): void {
  const name = body.lora_name;
  if (!nonEmptyString(name)) throw badRequest("'lora_name' needs to be provided to unload a LoRA adapter.");
  if (!registry.unload(name)) throw notFound(`The lora adapter '${name}' cannot be found.`);
  sendText(res, 200, 'text/plain; charset=utf-8', `Success: LoRA adapter '${name}' removed successfully.`);
}
