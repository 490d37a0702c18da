/**
 * Stage 1, health: `/v1/models` answers and lists the model (or names one when none was given), and a
 * tiny completion succeeds.
 */
import { failureKind, isUnreachable, LoadtestError } from '../errors.js';
import { generationBody, type JsonAnswer, type LoadClient } from '../http-client.js';
import type { Progress } from '../progress.js';

/**
 * `ok` when `/v1/models` answered 200 listing `model` and the tiny completion succeeded; `problems`
 * says what failed otherwise. `model` is the one asked for, or the first listed when none was.
 * `replica` is the completion's `x-inference-pod` header, if any.
 */
export interface HealthResult {
  readonly ok: boolean;
  readonly model: string;
  readonly models: readonly string[];
  readonly modelsStatus: number;
  readonly completionStatus: number;
  readonly completionLatencyMs: number;
  readonly replica?: string;
  readonly problems: readonly string[];
}

function modelIds(json: unknown): string[] {
  const data = (json as { data?: unknown } | null | undefined)?.data;
  if (!Array.isArray(data)) return [];
  return (data as unknown[]).flatMap((m) => {
    const id = (m as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? [id] : [];
  });
}

/**
 * Runs the health stage. Throws {@link LoadtestError} when `/v1/models` gets no HTTP answer at all
 * (refused, unknown host, unreachable, timeout after `connectTimeoutMs`), when the tiny completion
 * cannot connect, or when no model is given and none is listed — so a dead URL fails at once
 * instead of running the other stages.
 */
export async function runHealth(client: LoadClient, requestedModel: string, progress: Progress, connectTimeoutMs: number): Promise<HealthResult> {
  progress.begin('health', 2);
  const problems: string[] = [];
  let answer: JsonAnswer;
  try {
    answer = await client.getJson('/v1/models', connectTimeoutMs);
  } catch (err) {
    // No HTTP answer at all: whatever the reason, there is nothing to test.
    progress.advance(true);
    progress.end();
    throw new LoadtestError(`cannot reach ${client.baseUrl}: ${failureKind(err)}`);
  }
  const modelsStatus = answer.status;
  const models = modelIds(answer.json);
  if (answer.status !== 200) problems.push(`GET /v1/models answered HTTP ${answer.status}`);
  else if (models.length === 0) problems.push('GET /v1/models listed no models');
  progress.advance(problems.length > 0);
  const model = requestedModel !== '' ? requestedModel : (models[0] ?? '');
  if (model === '') {
    progress.end();
    throw new LoadtestError(`no model to test: ${problems.join('; ') || 'none listed'}; pass --model`);
  }
  if (requestedModel !== '' && modelsStatus === 200 && !models.includes(requestedModel)) problems.push(`model "${requestedModel}" is not listed by /v1/models (${models.join(', ') || 'none'})`);
  const outcome = await client.send(generationBody(model, '/v1/completions', { user: 'Say hi.' }, 1, false));
  progress.advance(!outcome.ok);
  progress.end();
  if (!outcome.ok) {
    if (isUnreachable(outcome.error ?? '')) throw new LoadtestError(`cannot reach ${client.baseUrl}: ${outcome.error ?? ''}`);
    problems.push(`a tiny completion failed: ${outcome.error ?? 'unknown'}`);
  }
  return {
    ok: problems.length === 0,
    model,
    models,
    modelsStatus,
    completionStatus: outcome.status,
    completionLatencyMs: outcome.latencyMs,
    ...(outcome.replica === undefined ? {} : { replica: outcome.replica }),
    problems,
  };
}
