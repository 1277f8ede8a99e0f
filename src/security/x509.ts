// The one place @peculiar/x509 is loaded. Its dependency injection (tsyringe) needs a Reflect
// metadata polyfill evaluated before it, and it signs and verifies through a WebCrypto provider
// that must be set before first use; importing it through this module guarantees both.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
