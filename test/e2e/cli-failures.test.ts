// Everyday mistakes at run time — a config directory that is not there, a port already taken, no
// kubeconfig — end with one line on stderr naming the problem and exit code 1; the stack comes
// only with --log-level debug.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PilotfishProcess, runPilotfish } from '../support/pilotfish-process.js';

const STACK = /\n\s+at /;

/** A port held by this test on 127.0.0.1, so pilotfish finds it taken. */
async function takenPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { port: address.port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Runs the binary to its exit, with an environment of its own; stderr as lines. */
async function runWithEnv(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string[] }> {
  const pf = PilotfishProcess.start(args, env);
  const code = await pf.whenExited();
  return { code, stderr: pf.logs.map((l) => (l.level === 'raw' ? l.message : JSON.stringify(l))) };
}

describe('e2e: runtime failures are one line, exit 1', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pf-cli-failures-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serve --config-dir of a directory that does not exist', async () => {
    const missing = path.join(dir, 'no-such-dir');
    const r = await runPilotfish(['serve', '--config-dir', missing, '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `pilotfish serve: --config-dir ${missing}: no such directory\n`);
  });

  it('serve with its HTTP port already in use', async () => {
    const held = await takenPort();
    try {
      const r = await runPilotfish(['serve', '--xds-address', '127.0.0.1:0', '--http-address', `127.0.0.1:${held.port}`]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr,
        `pilotfish serve: cannot listen on 127.0.0.1:${held.port} (--http-address): the address is already in use (another pilotfish, or pick another port)\n`);
    } finally {
      await held.release();
    }
  });

  it('serve with its xDS port already in use: the failure is the last line, one line, and the process exits', async () => {
    const held = await takenPort();
    try {
      const r = await runPilotfish(['serve', '--xds-address', `127.0.0.1:${held.port}`, '--http-address', '127.0.0.1:0']);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trim().split('\n');
      // Before it: the JSON log of the start so far.
      for (const l of lines.slice(0, -1)) assert.doesNotThrow(() => JSON.parse(l), l);
      assert.equal(lines.at(-1), `pilotfish serve: cannot listen on 127.0.0.1:${held.port} (--xds-address): the address is already in use (another pilotfish, or pick another port)`);
      assert.doesNotMatch(r.stderr, STACK);
    } finally {
      await held.release();
    }
  });

  it('--log-level debug adds the stack, and the cause\'s', async () => {
    const held = await takenPort();
    try {
      const r = await runPilotfish(['serve', '--xds-address', '127.0.0.1:0', '--http-address', `127.0.0.1:${held.port}`, '--log-level', 'debug']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^pilotfish serve: cannot listen on .* \(--http-address\): the address is already in use/);
      assert.match(r.stderr, STACK);
      assert.match(r.stderr, /caused by: Error: listen EADDRINUSE/);
    } finally {
      await held.release();
    }
  });

  it('controller without any kubeconfig names what to do, not client-node\'s HTTP error', async () => {
    const home = await mkdtemp(path.join(dir, 'home-'));
    const r = await runWithEnv(['controller', '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0'],
      { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' });
    assert.equal(r.code, 1, r.stderr.join('\n'));
    assert.deepEqual(r.stderr, [`pilotfish controller: no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG, or create ${path.join(home, '.kube', 'config')}`]);
  });

  it('controller --kubeconfig of a file that does not exist', async () => {
    const r = await runPilotfish(['controller', '--kubeconfig', path.join(dir, 'nope'), '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^pilotfish controller: cannot load the kubeconfig .*nope: ENOENT/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
