/**
 * Worker-thread side of the parse pool: parses and summarises one body per message. Runs
 * `summarizeRequest`, so its results and errors are the ones the event loop would have produced.
 */
import { parentPort } from 'node:worker_threads';
import { BadRequestError } from '../errors/errors.js';
import { summarizeRequest } from './request-summary.js';
import type { ParseReply, ParseTask } from './parse-pool.js';

parentPort?.on('message', (task: ParseTask) => {
  let reply: ParseReply;
  try {
    const bytes = Buffer.from(task.body, task.offset, task.length);
    reply = { id: task.id, summary: summarizeRequest(task.path, bytes, task.promptLimit) };
  } catch (err) {
    reply = { id: task.id, error: { badRequest: err instanceof BadRequestError, message: err instanceof Error ? err.message : String(err) } };
  }
  parentPort?.postMessage(reply);
});
