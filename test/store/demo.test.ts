import assert from 'node:assert/strict';
import { loadConfigDir } from '../../src/sources/config-dir/directory-source.js';
import { translate } from '../../src/store/translate/translate.js';
import { silentLogger } from '../../src/logging.js';

// The directory `npm start` serves must load cleanly and mean what its comments say.
describe('examples/demo', () => {
  it('loads without errors into the greeter (gRPC) and echo (HTTP) services', async () => {
    const { objects, errors } = await loadConfigDir('examples/demo', silentLogger());
    assert.deepEqual(errors, []);
    const mesh = translate(objects);
    assert.deepEqual(mesh.warnings, []);
    assert.deepEqual([...mesh.namespaces.keys()], ['demo']);
    assert.deepEqual([...mesh.services.keys()], ['echo.demo', 'greeter.demo']);
    assert.deepEqual(mesh.services.get('greeter.demo')?.ports, [{ name: 'grpc', port: 50051, targetPort: 50051, protocol: 'grpc' }]);
    assert.deepEqual(mesh.services.get('echo.demo')?.ports, [{ name: 'http-echo', port: 8080, targetPort: 8080, protocol: 'http' }]);
    assert.deepEqual(mesh.endpoints.get('greeter.demo')?.map((e) => [e.address, e.ports, e.locality.zone, e.labels.version, e.ready]), [
      ['127.0.0.1', { grpc: 50051 }, 'zone-a', 'v1', true],
      ['127.0.0.1', { grpc: 50052 }, 'zone-b', 'v2', true],
    ]);
    assert.deepEqual(mesh.endpoints.get('echo.demo')?.map((e) => [e.address, e.ports]), [['127.0.0.1', { 'http-echo': 8080 }]]);
  });
});
