/** The namespace the picker serves when `--pool-namespace` is empty (no Kubernetes client needed). */
import { readFileSync } from 'node:fs';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The pool namespace when `--pool-namespace` is empty: `NAMESPACE`, as the reference reads it, then
 * the service account's namespace file (so the picker finds its own namespace in a cluster even
 * without the env var), then `default`.
 */
export function defaultPoolNamespace(env: NodeJS.ProcessEnv = process.env, readNamespaceFile: () => string = () => readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8')): string {
  const fromEnv = env.NAMESPACE?.trim() ?? '';
  if (fromEnv !== '') return fromEnv;
  try {
    const fromFile = readNamespaceFile().trim();
    if (fromFile !== '') return fromFile;
  } catch {
    // Not in a cluster: fall through to the reference's default.
  }
  return 'default';
}
