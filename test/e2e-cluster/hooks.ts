// Root hooks for `npm run test:cluster` (loaded with mocha --require): the shared control plane
// outlives every test file and is stopped once, after the last one.
import { stopSharedCluster } from './fixture.js';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopSharedCluster();
  },
};
