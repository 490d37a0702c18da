/**
 * Access to the Kubernetes API: a KubeConfig from the pod's service account (in cluster), else from
 * `KUBECONFIG` / `~/.kube/config`, or one injected by tests. Loading this module loads
 * `@kubernetes/client-node` (~28 MB of heap): only Kubernetes discovery imports it, on demand.
 */
import { KubeConfig } from '@kubernetes/client-node';

/** No usable Kubernetes configuration was found. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

/** In-cluster config when `KUBERNETES_SERVICE_HOST` is set, else the default kubeconfig chain. */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '') kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new KubeConfigError(`cannot load Kubernetes config: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (kc.getCurrentCluster() === null) throw new KubeConfigError('no Kubernetes cluster configured (not in a cluster, and no KUBECONFIG or ~/.kube/config)');
  return kc;
}

/**
 * A KubeConfig for one API server URL without credentials (tests, and `kubectl proxy`-style setups).
 * client-node 1.4's typed clients refuse `http://` servers unless `skipTLSVerify` is set, so it is set
 * for plain HTTP only (there is no TLS to verify).
 */
export function kubeConfigForServer(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'epp', server, skipTLSVerify: server.startsWith('http:') }],
    users: [{ name: 'epp' }],
    contexts: [{ name: 'epp', cluster: 'epp', user: 'epp' }],
    currentContext: 'epp',
  });
  return kc;
}
