// Kubernetes objects the webhook tests install in the fake API server.
import type { KubeObject } from '../support/fake-kube-api.js';

export const MWC = 'pilotfish-sidecar-injector';

/** The MutatingWebhookConfiguration the Helm chart installs, without a caBundle yet. */
export function webhookConfiguration(name = MWC): KubeObject {
  const hook = (n: string) => ({
    name: n,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Ignore',
    reinvocationPolicy: 'IfNeeded',
    clientConfig: { service: { name: 'pilotfish', namespace: 'pilotfish-system', path: '/inject', port: 443 } },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
  });
  return {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: [hook('namespace.sidecar.pilotfish.io'), hook('object.sidecar.pilotfish.io')],
  };
}
