// The chart's ClusterRole and Role grant exactly what the code declares it calls
// (src/permissions.ts, collected from the modules that make the calls and checked against their
// real requests in test/permissions/): every (group, resource, verb, name) needed, nothing more.
import assert from 'node:assert/strict';
import { grants, rbacRules, ruleGrants, type ObjectNames, type RbacRule } from '../../src/kube/api-permission.js';
import { DEBUG_ACCESS_ATTRIBUTES } from '../../src/admin/debug-access.js';
import { PILOTFISH_PERMISSIONS } from '../../src/cli/permissions.js';
import { DEFAULT_CA_SECRET_NAME } from '../../src/security/ca/secret-store.js';
import { DEFAULT_RELEASE, HA_VALUES, one, parseControllerArgs, render, type K8sObject } from './chart.js';

type Role = K8sObject & { rules: RbacRule[] };
type Binding = K8sObject & { roleRef: { kind: string; name: string } };
type Deployment = K8sObject & { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } };

/** The names the running process will use, read from the rendered command line by its own parser. */
function configuredNames(objects: readonly K8sObject[]): ObjectNames & { namespace: string } {
  const args = one<Deployment>(objects, 'Deployment').spec.template.spec.containers[0].args;
  const { webhook, controller } = parseControllerArgs(args);
  assert.equal(controller.namespace, webhook.namespace);
  // The CA Secret's name is not a flag yet: the chart and the code both use the default.
  return {
    webhookConfig: webhook.webhookConfigName, tlsSecret: webhook.tlsSecretName, lease: controller.leaseName,
    caSecret: DEFAULT_CA_SECRET_NAME, namespace: controller.namespace,
  };
}

function diff(kind: string, rendered: Set<string>, wanted: Set<string>): string[] {
  return [
    ...[...wanted].filter((g) => !rendered.has(g)).map((g) => `${kind} is missing: ${g}`),
    ...[...rendered].filter((g) => !wanted.has(g)).map((g) => `${kind} grants more than the code uses: ${g}`),
  ];
}

describe('helm chart: RBAC is exactly what the code calls', () => {
  for (const variant of [{ name: 'default values', release: DEFAULT_RELEASE, values: [] as string[] },
    { name: 'HA values, another release', release: { name: 'mesh', namespace: 'mesh-control' }, values: [HA_VALUES] }]) {
    it(`ClusterRole and Role match src/permissions.ts (${variant.name})`, async () => {
      const objects = await render({ release: variant.release, valuesFiles: variant.values });
      const names = configuredNames(objects);
      const clusterRole = one<Role>(objects, 'ClusterRole');
      // pilotfish's own Role is the one its RoleBinding names (the other is for users: debug reader).
      const roleBinding = one<Binding>(objects, 'RoleBinding');
      const role = one<Role>(objects, 'Role', roleBinding.roleRef.name);
      assert.equal(role.metadata.namespace, names.namespace, 'the Role lives in the namespace pilotfish is told it runs in');
      const problems = [
        ...diff('ClusterRole', ruleGrants(clusterRole.rules), grants(PILOTFISH_PERMISSIONS, 'cluster', names)),
        ...diff('Role', ruleGrants(role.rules), grants(PILOTFISH_PERMISSIONS, 'namespace', names)),
      ];
      assert.deepEqual(problems, [], `${problems.join('\n')}\n\nrules the code needs:\n${JSON.stringify({
        clusterRole: rbacRules(PILOTFISH_PERMISSIONS, 'cluster', names), role: rbacRules(PILOTFISH_PERMISSIONS, 'namespace', names),
      }, null, 2)}`);
      assert.deepEqual(one<Binding>(objects, 'ClusterRoleBinding').roleRef,
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.metadata.name });
      assert.deepEqual(roleBinding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    });

    it(`ships a Role users can bind to read /debug: get on the resource the SubjectAccessReview asks, nothing else (${variant.name})`, async () => {
      const objects = await render({ release: variant.release, valuesFiles: variant.values });
      const names = configuredNames(objects);
      const reader = one<Role>(objects, 'Role', `${variant.release.name === 'pilotfish' ? 'pilotfish' : `${variant.release.name}-pilotfish`}-debug-reader`);
      assert.equal(reader.metadata.namespace, names.namespace, 'the namespace the SubjectAccessReview names');
      const { verb, group, resource } = DEBUG_ACCESS_ATTRIBUTES;
      assert.deepEqual(reader.rules, [{ apiGroups: [group], resources: [resource], verbs: [verb] }]);
      const bindings = objects.filter((o): o is Binding => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
      assert.ok(bindings.every((b) => b.roleRef.name !== reader.metadata.name), 'the chart binds it to no one; users bind it');
    });
  }

  it('the default release names the debug reader Role as the refusal message does', async () => {
    assert.equal(one(await render(), 'Role', 'pilotfish-debug-reader').metadata.namespace, DEFAULT_RELEASE.namespace);
  });

  it('the permission list has what the debug gate, the mesh CA and the roots publisher call', () => {
    const names: ObjectNames = { webhookConfig: 'w', tlsSecret: 's', lease: 'l', caSecret: 'pilotfish-ca' };
    const cluster = grants(PILOTFISH_PERMISSIONS, 'cluster', names);
    const local = grants(PILOTFISH_PERMISSIONS, 'namespace', names);
    for (const g of ['authentication.k8s.io tokenreviews create', 'authorization.k8s.io subjectaccessreviews create',
      ...['get', 'create', 'patch'].map((v) => `core configmaps ${v}`)]) assert.ok(cluster.has(g), g);
    for (const g of ['core secrets get name=pilotfish-ca', 'core secrets create']) assert.ok(local.has(g), g);
    assert.ok(![...cluster].some((g) => g.startsWith('core secrets')), 'no Secret outside pilotfish\'s namespace');
    assert.ok(!local.has('core secrets get') && !cluster.has('core secrets list'), 'no Secret but the named ones can be read');
  });

  it('the comparison sees a missing verb, an extra verb and a wildcard', () => {
    const names: ObjectNames = { webhookConfig: 'w', tlsSecret: 's', lease: 'l', caSecret: 'c' };
    const wanted = grants(PILOTFISH_PERMISSIONS, 'cluster', names);
    const exact = rbacRules(PILOTFISH_PERMISSIONS, 'cluster', names);
    assert.deepEqual(diff('x', ruleGrants(exact), wanted), []);
    const missing = exact.map((r) => (r.resources.includes('namespaces') ? { ...r, verbs: r.verbs.filter((v) => v !== 'get') } : r));
    assert.deepEqual(diff('x', ruleGrants(missing), wanted), ['x is missing: core namespaces get']);
    const extra = [...exact, { apiGroups: [''], resources: ['secrets'], verbs: ['list'] }];
    assert.deepEqual(diff('x', ruleGrants(extra), wanted), ['x grants more than the code uses: core secrets list']);
    const wildcard = [...exact, { apiGroups: ['*'], resources: ['*'], verbs: ['*'] }];
    assert.deepEqual(diff('x', ruleGrants(wildcard), wanted), ['x grants more than the code uses: * * *']);
  });
});
