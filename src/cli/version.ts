// pilotfish's version: the one in package.json, which ships next to dist/ (in the image too).
import { readFileSync } from 'node:fs';

export function pilotfishVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const version = typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
  return typeof version === 'string' ? version : 'unknown';
}
