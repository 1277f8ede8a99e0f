// A real, throw-away Kubernetes control plane on 127.0.0.1, the way controller-runtime's envtest
// runs one: etcd, kube-apiserver and (optionally) kube-controller-manager, built from source by
// test/cluster/build.sh. No kubelet and no scheduler: Pods are stored but never run, which is all a
// control plane like pilotfish ever sees of them.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { writeKubeconfig } from '../support/kubeconfig.js';
import { controlPlaneBinaries } from './binaries.js';
import { ControlPlaneProcess } from './child.js';
import { KubeRest, type KubeObject } from './kube-rest.js';
import { createClusterPki, newToken } from './pki.js';

export interface ClusterOptions {
  /** Run kube-controller-manager (ServiceAccounts, namespace deletion, EndpointSlices); default true. */
  controllerManager?: boolean;
  /** Keep the temporary directory (certificates, logs, etcd data) after stop(); default false. */
  keepDir?: boolean;
}

export const SERVICE_CIDR = '10.0.0.0/24';
/** Who the suite acts as: in system:masters, so RBAC never gets in its way. */
export const ADMIN_USER = 'pilotfish-e2e-admin';

export interface Cluster {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** PEM of the CA that signed the API server's certificate. */
  readonly caPem: string;
  readonly adminToken: string;
  /** A kubeconfig for the admin user. */
  readonly kubeconfig: string;
  /** A REST client acting as the admin user. */
  readonly admin: KubeRest;
  /** The temporary directory with certificates, logs and etcd's data. */
  readonly dir: string;
  /** What /version reports, e.g. v1.34.4. */
  readonly version: string;
  /**
   * A token for the ServiceAccount NAMESPACE/NAME from the TokenRequest API (as the kubelet gets
   * for a Pod), so whoever uses it gets exactly the RBAC bound to that ServiceAccount.
   */
  serviceAccountToken(namespace: string, name: string): Promise<string>;
  /** A kubeconfig file with serviceAccountToken(namespace, name). */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** A REST client acting with serviceAccountToken(namespace, name). */
  serviceAccountClient(namespace: string, name: string): Promise<KubeRest>;
  /** The last log lines of every process, for failure messages. */
  logTails(lines?: number): string;
  stop(): Promise<void>;
}

/**
 * n distinct ports that were free a moment ago (all held open together, so none repeats). The
 * binaries take no port 0, so a race with another process is possible; a lost race surfaces as
 * the process exiting with "address already in use" in its log tail.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/**
 * Repeats `probe` until it answers true. Used only for readiness: etcd and kube-apiserver offer no
 * notification for it, so this is how every launcher (envtest, kubeadm) waits. Fails at once when
 * the process dies, and after `limitMs` with the process's log tail.
 */
async function waitReady(proc: ControlPlaneProcess, what: string, probe: () => Promise<boolean>, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (proc.hasExited) throw new Error(`${what} never became ready: ${proc.describeExit()}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${limitMs / 1000} s; last lines of ${proc.logFile}:\n${proc.tail()}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 100);
      void proc.whenExited().then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** `work`, or a rejection with the process's log tail if the process exits before `work` settles. */
function unlessExited<T>(proc: ControlPlaneProcess, work: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    work.then(resolve, reject);
    void proc.whenExited().then(() => reject(new Error(proc.describeExit())));
  });
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpGet(url, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
  });
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const bins = controlPlaneBinaries();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pilotfish-cluster-'));
  const processes: ControlPlaneProcess[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of [...processes].reverse()) await p.stop();
  };
  const logTails = (lines = 30): string => processes.map((p) => `--- ${p.name} (${p.logFile})\n${p.tail(lines)}`).join('\n');

  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = await freePorts(3) as [number, number, number];
    const pki = createClusterPki([
      '127.0.0.1', 'localhost', '10.0.0.1',
      'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local',
    ]);
    const file = (name: string): string => path.join(dir, name);
    const adminToken = newToken();
    const controllerManagerToken = newToken();
    await Promise.all([
      writeFile(file('ca.crt'), pki.ca.certPem),
      writeFile(file('apiserver.crt'), pki.apiServer.certPem),
      writeFile(file('apiserver.key'), pki.apiServer.keyPem, { mode: 0o600 }),
      writeFile(file('sa.key'), pki.serviceAccount.privatePem, { mode: 0o600 }),
      writeFile(file('sa.pub'), pki.serviceAccount.publicPem),
      // Static tokens (token,user,uid,"groups"): the simplest authenticator that still goes
      // through RBAC. The controller manager acts as a master too: this is not a test of its RBAC.
      writeFile(file('tokens.csv'), [
        `${adminToken},${ADMIN_USER},${ADMIN_USER},"system:masters"`,
        `${controllerManagerToken},system:kube-controller-manager,system:kube-controller-manager,"system:masters"`,
        '',
      ].join('\n'), { mode: 0o600 }),
    ]);

    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = ControlPlaneProcess.start('etcd', bins.etcd, [
      '--name=default',
      `--data-dir=${file('etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=default=${etcdPeerUrl}`,
      // A throw-away store: durability costs fsyncs and buys nothing here (envtest does the same).
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ], dir);
    processes.push(etcd);
    await waitReady(etcd, 'etcd', () => httpOk(`${etcdUrl}/health`), 60_000);

    const url = `https://127.0.0.1:${apiPort}`;
    const apiServer = ControlPlaneProcess.start('kube-apiserver', bins.kubeApiserver, [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${file('apiserver-certs')}`,
      `--tls-cert-file=${file('apiserver.crt')}`,
      `--tls-private-key-file=${file('apiserver.key')}`,
      `--token-auth-file=${file('tokens.csv')}`,
      // RBAC only (no AlwaysAllow): the chart's ClusterRoles are what pilotfish gets.
      '--authorization-mode=RBAC',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${file('sa.pub')}`,
      `--service-account-signing-key-file=${file('sa.key')}`,
      '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
      '--allow-privileged=true',
      // A loopback address is not a valid endpoint of the `kubernetes` Service; without this the
      // endpoint reconciler logs an error every few seconds.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=1',
    ], dir);
    processes.push(apiServer);
    const admin = new KubeRest({ url, caPem: pki.ca.certPem, token: adminToken });
    await waitReady(apiServer, 'kube-apiserver', async () => (await admin.raw('GET', '/readyz')).code === 200, 180_000);
    const version = String(((await admin.call<{ gitVersion: string }>('GET', '/version')).gitVersion));

    const kubeconfig = await writeKubeconfig(dir, { url, caPem: pki.ca.certPem, token: adminToken }, 'admin.kubeconfig');

    if (options.controllerManager ?? true) {
      const kcmKubeconfig = await writeKubeconfig(dir, { url, caPem: pki.ca.certPem, token: controllerManagerToken }, 'kube-controller-manager.kubeconfig');
      const controllerManager = ControlPlaneProcess.start('kube-controller-manager', bins.kubeControllerManager, [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        // Only what a control plane without nodes needs: default ServiceAccounts (the ServiceAccount
        // admission plugin refuses Pods without one), namespace deletion, EndpointSlices from
        // Services and Pods, and garbage collection of owned objects.
        '--controllers=serviceaccount-controller,namespace-controller,endpointslice-controller,garbage-collector-controller',
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--secure-port=0',
        '--use-service-account-credentials=false',
        '--v=1',
      ], dir);
      processes.push(controllerManager);
      // Its first visible work: the default ServiceAccount of the default namespace.
      const ready = admin.waitFor('/api/v1/namespaces/default/serviceaccounts', (sa) => sa.metadata?.name === 'default',
        'kube-controller-manager to create the default ServiceAccount', 120_000);
      await unlessExited(controllerManager, ready);
    }

    const cluster: Cluster = {
      url,
      caPem: pki.ca.certPem,
      adminToken,
      kubeconfig,
      admin,
      dir,
      version,
      async serviceAccountToken(namespace: string, name: string): Promise<string> {
        const request = await admin.call<KubeObject & { status: { token: string } }>(
          'POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
          { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
        return request.status.token;
      },
      async serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
        const token = await cluster.serviceAccountToken(namespace, name);
        return writeKubeconfig(dir, { url, caPem: pki.ca.certPem, token, namespace }, `sa-${namespace}-${name}.kubeconfig`);
      },
      async serviceAccountClient(namespace: string, name: string): Promise<KubeRest> {
        return new KubeRest({ url, caPem: pki.ca.certPem, token: await cluster.serviceAccountToken(namespace, name) });
      },
      logTails,
      async stop(): Promise<void> {
        await stopAll();
        if (!options.keepDir) await rm(dir, { recursive: true, force: true });
      },
    };
    return cluster;
  } catch (err) {
    await stopAll();
    // Keep the directory: its logs are the only record of why the start failed.
    throw new Error(`${(err as Error).message}\n(cluster files and logs kept in ${dir})`);
  }
}
