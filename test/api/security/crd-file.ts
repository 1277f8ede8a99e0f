// The checked-in PeerAuthentication CRD, for the tests that read it back.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { PEER_AUTHENTICATION_CRD_FILE } from '../../../src/api/security/v1alpha1/crd.js';
import { REPO_ROOT, type Json } from '../routing/crd-support.js';

export const PEER_AUTHENTICATION_CRD_PATH = path.join(REPO_ROOT, 'crds', PEER_AUTHENTICATION_CRD_FILE);

export function readPeerAuthenticationCrd(): { [k: string]: Json } {
  return YAML.parse(readFileSync(PEER_AUTHENTICATION_CRD_PATH, 'utf8')) as { [k: string]: Json };
}
