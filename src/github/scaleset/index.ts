// The runner scale set client: GitHub's listener protocol (scale sets, sessions, the message queue,
// scale-set runners) for the listen mode.
export { createScaleSetClient } from './client.js';
export { isHostedGitHub, scaleSetEndpoints } from './config-url.js';
export * from './errors.js';
export type * from './types.js';
