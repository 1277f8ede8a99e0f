// The AdmissionReview the webhook benchmark sends: what the API server sends for a Pod that a
// Deployment's ReplicaSet creates — generateName, owner reference, two containers with env,
// probes, resources and mounts, a projected service-account token volume, tolerations. About
// 4 KB of JSON, like real ones.

export function realisticPod(namespace: string): Record<string, unknown> {
  const env = (n: number): { name: string; value: string }[] =>
    Array.from({ length: n }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}-${'x'.repeat(16)}` }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'reviews-v2-7d9f8c6b5d-',
      namespace,
      labels: { app: 'reviews', version: 'v2', 'pod-template-hash': '7d9f8c6b5d', 'app.kubernetes.io/part-of': 'bookinfo' },
      annotations: {
        'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:00:00Z',
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9080',
      },
      ownerReferences: [{
        apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'reviews-v2-7d9f8c6b5d',
        uid: '0b4c6f0e-5a0f-4d5e-9c1b-3f7e2a1d9c8b', controller: true, blockOwnerDeletion: true,
      }],
    },
    spec: {
      serviceAccountName: 'bookinfo-reviews',
      terminationGracePeriodSeconds: 30,
      securityContext: { runAsNonRoot: true, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'reviews',
          image: 'docker.io/istio/examples-bookinfo-reviews-v2:1.20.1',
          imagePullPolicy: 'IfNotPresent',
          ports: [{ name: 'http', containerPort: 9080, protocol: 'TCP' }],
          env: [...env(12), { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          readinessProbe: { httpGet: { path: '/health', port: 9080 }, initialDelaySeconds: 5, periodSeconds: 10 },
          livenessProbe: { httpGet: { path: '/health', port: 9080 }, initialDelaySeconds: 30, periodSeconds: 20 },
          volumeMounts: [
            { name: 'tmp', mountPath: '/tmp' },
            { name: 'wlp-output', mountPath: '/opt/ibm/wlp/output' },
            { name: 'kube-api-access-7x2lq', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
          ],
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
        {
          name: 'log-shipper',
          image: 'fluent/fluent-bit:3.0.4',
          args: ['-c', '/fluent-bit/etc/fluent-bit.conf'],
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
          volumeMounts: [{ name: 'wlp-output', mountPath: '/logs', readOnly: true }],
        },
      ],
      volumes: [
        { name: 'tmp', emptyDir: {} },
        { name: 'wlp-output', emptyDir: {} },
        {
          name: 'kube-api-access-7x2lq',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ],
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      dnsPolicy: 'ClusterFirst',
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
    },
    status: {},
  };
}

export function admissionReview(uid: string, namespace = 'bookinfo'): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: 'a1c9a7e3-2f1e-4a57-8a0e-6b1b8d8f4c21',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object: realisticPod(namespace),
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}
