// Runs the init container that the mutation generated — its exact command, rules included — in
// real Linux network namespaces, and shows where TCP connections land: outbound traffic to a
// service IP arrives at the proxy's 15001 listener with the original destination intact, the
// proxy's own uid (1337) and excluded ports go straight through, inbound traffic to an app port
// arrives at 15006 and the proxy's readiness port is not captured.
//
// The system suite (`npm run test:system`, not part of `npm test`): needs root, `ip` (iproute2),
// `iptables`, `python3` and `setpriv` (Debian: apt-get install -y iproute2 iptables python3 util-linux).
// When the machine cannot do this, the test FAILS with the command and its error.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { V1Pod } from '@kubernetes/client-node';
import { DEFAULT_INJECTOR_CONFIG, injectPod } from '../../src/webhook/inject.js';
import { INIT_CONTAINER_NAME } from '../../src/webhook/injection-names.js';
import { rulesOfInitContainer } from '../../src/webhook/redirect.js';

const POD_NS = `pf-pod-${process.pid}`;
const PEER_NS = `pf-peer-${process.pid}`;
const POD_IP = '10.250.0.2';
const PEER_IP = '10.250.0.1';
const SERVICE_IP = '10.96.0.10';

interface Landing { listener: string; tag: string; original_dst: string | null; local: string; peer: string }

/** Where each tool comes from, for the message when one is missing. */
const DEBIAN_PACKAGE: Record<string, string> = { ip: 'iproute2', iptables: 'iptables', python3: 'python3', setpriv: 'util-linux' };

function run(cmd: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 30_000 });
  if (r.error) {
    const how = (r.error as NodeJS.ErrnoException).code === 'ENOENT'
      ? ` (${cmd} is not installed; on Debian: apt-get install -y ${DEBIAN_PACKAGE[cmd] ?? cmd})` : '';
    throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}${how}`);
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function must(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  if (r.code !== 0) throw new Error(`this machine cannot run the redirect test: \`${cmd} ${args.join(' ')}\` exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

const inNs = (ns: string, ...args: string[]): string[] => ['netns', 'exec', ns, ...args];

// The listeners inside the pod's namespace. Python because Node cannot read SO_ORIGINAL_DST.
const SERVER = String.raw`
import json, socket, struct, sys, threading
SO_ORIGINAL_DST = 80
def handle(name, c, peer):
    tag = c.makefile('rb').readline().decode().strip()
    try:
        raw = c.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        orig = '%s:%d' % (socket.inet_ntoa(raw[4:8]), struct.unpack('!H', raw[2:4])[0])
    except OSError:
        orig = None
    out = {'listener': name, 'tag': tag, 'original_dst': orig, 'local': '%s:%d' % c.getsockname(), 'peer': '%s:%d' % peer}
    c.sendall((json.dumps(out) + '\n').encode())
    c.close()
def serve(name, s):
    while True:
        c, peer = s.accept()
        threading.Thread(target=handle, args=(name, c, peer), daemon=True).start()
for spec in json.loads(sys.argv[1]):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((spec['host'], spec['port']))
    s.listen(16)
    threading.Thread(target=serve, args=(spec['name'], s), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
`;

const CLIENT = `
const net = require('node:net');
const [host, port, tag] = process.argv.slice(1);
const s = net.connect(Number(port), host, () => s.write(tag + '\\n'));
let data = '';
s.on('data', (c) => { data += c; });
s.on('end', () => process.stdout.write(data));
s.on('error', (e) => { process.stderr.write(e.message); process.exit(1); });
`;

function connect(ns: string, host: string, port: number, tag: string, uid?: number): Landing {
  const prefix = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const r = run('ip', inNs(ns, ...prefix, process.execPath, '-e', CLIENT, host, String(port), tag));
  if (r.code !== 0) throw new Error(`connection ${tag} to ${host}:${port} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Landing;
}

describe('system: the injected redirect in a real network namespace', function () {
  let server: ChildProcess | undefined;
  let initCommand: string[] = [];
  let rules = '';

  before(async function () {
    if (process.getuid?.() !== 0) throw new Error('the redirect test needs root (network namespaces and iptables)');
    must('iptables', ['--version']);
    must('ip', ['-V']);
    must('python3', ['--version']);
    must('setpriv', ['--version']);

    const pod: V1Pod = {
      metadata: {
        name: 'web', namespace: 'shop',
        annotations: { 'traffic.sidecar.pilotfish.io/excludeOutboundPorts': '9000' },
      },
      spec: { containers: [{ name: 'web', image: 'x', ports: [{ containerPort: 8080 }] }] },
    };
    const injected = injectPod(pod, DEFAULT_INJECTOR_CONFIG).pod;
    const init = injected.spec!.initContainers!.find((c) => c.name === INIT_CONTAINER_NAME)!;
    initCommand = init.command!;
    rules = rulesOfInitContainer(init);

    for (const ns of [POD_NS, PEER_NS]) run('ip', ['netns', 'del', ns]);
    must('ip', ['netns', 'add', POD_NS]);
    must('ip', ['netns', 'add', PEER_NS]);
    must('ip', inNs(POD_NS, 'ip', 'link', 'set', 'lo', 'up'));
    must('ip', inNs(PEER_NS, 'ip', 'link', 'set', 'lo', 'up'));
    // The pod's interface, with a peer namespace standing in for another pod or the kubelet.
    must('ip', ['link', 'add', 'pfv0', 'netns', POD_NS, 'type', 'veth', 'peer', 'name', 'pfv1', 'netns', PEER_NS]);
    must('ip', inNs(POD_NS, 'ip', 'addr', 'add', `${POD_IP}/24`, 'dev', 'pfv0'));
    must('ip', inNs(PEER_NS, 'ip', 'addr', 'add', `${PEER_IP}/24`, 'dev', 'pfv1'));
    must('ip', inNs(POD_NS, 'ip', 'link', 'set', 'pfv0', 'up'));
    must('ip', inNs(PEER_NS, 'ip', 'link', 'set', 'pfv1', 'up'));
    // A service IP served inside the pod's namespace, so what is not redirected lands somewhere visible.
    // (On lo: no dummy-interface module is needed.)
    must('ip', inNs(POD_NS, 'ip', 'addr', 'add', `${SERVICE_IP}/32`, 'dev', 'lo'));

    const listeners = [
      { name: 'outbound-capture', host: '0.0.0.0', port: 15001 },
      { name: 'inbound-capture', host: '0.0.0.0', port: 15006 },
      { name: 'proxy-readiness', host: '0.0.0.0', port: 15021 },
      { name: 'app', host: '0.0.0.0', port: 8080 },
      { name: 'service', host: SERVICE_IP, port: 80 },
      { name: 'service-excluded-port', host: SERVICE_IP, port: 9000 },
    ];
    const child = spawn('ip', inNs(POD_NS, 'python3', '-c', SERVER, JSON.stringify(listeners)), { stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    await new Promise<void>((resolve, reject) => {
      const rl = readline.createInterface({ input: child.stdout! });
      rl.once('line', (line) => (line === 'ready' ? resolve() : reject(new Error(`listener said ${line}`))));
      child.once('exit', (code) => reject(new Error(`listener process exited ${code}: ${stderr}`)));
      child.once('error', reject);
    });
  });

  after(() => {
    server?.kill();
    for (const ns of [POD_NS, PEER_NS]) run('ip', ['netns', 'del', ns]);
  });

  it('the generated init container command installs the rules (and is a no-op when run again)', () => {
    assert.deepEqual(initCommand.slice(0, 2), ['sh', '-c']);
    const first = run('ip', inNs(POD_NS, ...initCommand));
    assert.equal(first.code, 0, `init container failed: ${first.stderr}`);
    assert.match(first.stdout, /pilotfish-init: redirect installed/);
    const installed = must('ip', inNs(POD_NS, 'iptables', '-t', 'nat', '-S'));
    for (const line of rules.split('\n').filter((l) => l.startsWith('-A '))) {
      // iptables -S spells the implicit tcp match out; compare on the essentials.
      const canonical = line.replace('-p tcp --dport', '-p tcp -m tcp --dport');
      assert.ok(installed.includes(canonical), `rule not installed: ${line}\n${installed}`);
    }
    const again = run('ip', inNs(POD_NS, ...initCommand));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already installed/);
    assert.equal(must('ip', inNs(POD_NS, 'iptables', '-t', 'nat', '-S')), installed, 'a second run must not add rules');
  });

  it('outbound TCP to a service port arrives at 15001 with the original destination', () => {
    const l = connect(POD_NS, SERVICE_IP, 80, 'app-outbound');
    assert.equal(l.listener, 'outbound-capture');
    assert.equal(l.original_dst, `${SERVICE_IP}:80`);
    assert.equal(l.local, '127.0.0.1:15001');
  });

  it("uid 1337's own connection is not redirected", () => {
    const l = connect(POD_NS, SERVICE_IP, 80, 'proxy-outbound', 1337);
    assert.equal(l.listener, 'service');
    assert.equal(l.local, `${SERVICE_IP}:80`);
  });

  it('an excluded outbound port (annotation) and loopback are not redirected', () => {
    assert.equal(connect(POD_NS, SERVICE_IP, 9000, 'excluded-port').listener, 'service-excluded-port');
    assert.equal(connect(POD_NS, '127.0.0.1', 8080, 'loopback').listener, 'app');
  });

  it('inbound TCP to an app port arrives at 15006; the readiness port 15021 is not captured', () => {
    const inbound = connect(PEER_NS, POD_IP, 8080, 'inbound');
    assert.equal(inbound.listener, 'inbound-capture');
    assert.equal(inbound.original_dst, `${POD_IP}:8080`);
    assert.equal(inbound.peer.split(':')[0], PEER_IP);
    assert.equal(connect(PEER_NS, POD_IP, 15021, 'kubelet-probe').listener, 'proxy-readiness');
  });
});
