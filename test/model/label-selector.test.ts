// --discovery-selector's label selectors: every operator of the Kubernetes string form, and
// refusals that name the requirement.
import assert from 'node:assert/strict';
import { MAX_SELECTOR_CHARS, parseLabelSelector, selectorMatches } from '../../src/model/label-selector.js';

const matches = (text: string, labels: Record<string, string>): boolean => selectorMatches(parseLabelSelector(text), labels);

describe('model: label selectors', () => {
  it('supports =, ==, !=, in, notin, exists and !exists, all of which must hold', () => {
    assert.equal(matches('env=prod', { env: 'prod' }), true);
    assert.equal(matches('env==prod', { env: 'dev' }), false);
    assert.equal(matches('env!=prod', {}), true, '!= holds for an absent label, as in Kubernetes');
    assert.equal(matches('env!=prod', { env: 'prod' }), false);
    assert.equal(matches('env in (prod, staging)', { env: 'staging' }), true);
    assert.equal(matches('env in (prod,staging)', {}), false);
    assert.equal(matches('env notin (dev)', { env: 'prod' }), true);
    assert.equal(matches('pilotfish.io/discovery', { 'pilotfish.io/discovery': '' }), true);
    assert.equal(matches('!legacy', { legacy: 'true' }), false);
    assert.equal(matches('env=prod, team in (a,b), !legacy', { env: 'prod', team: 'b' }), true);
    assert.equal(matches('env=prod, team in (a,b), !legacy', { env: 'prod', team: 'c' }), false);
    assert.equal(matches('', { any: 'thing' }), true, 'the empty selector selects everything');
    assert.equal(matches('toString', {}), false, 'inherited properties are not labels');
  });

  it('refuses malformed selectors, naming the requirement', () => {
    assert.throws(() => parseLabelSelector('env=prod,,team=a'), /empty requirement/);
    assert.throws(() => parseLabelSelector('env=pr od'), /requirement "env=pr od"/);
    assert.throws(() => parseLabelSelector('env in ()'), /must not be empty/);
    assert.throws(() => parseLabelSelector('Bad Key'), /is not a label key/);
    assert.throws(() => parseLabelSelector('x'.repeat(MAX_SELECTOR_CHARS + 1)), /longer than 4096/);
  });
});
