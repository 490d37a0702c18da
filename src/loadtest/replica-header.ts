/** The response header that names the replica which served a request (set by vLLM pods / the mock). */
export const REPLICA_HEADER = 'x-inference-pod';
