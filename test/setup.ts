// Property tests explore new random cases on developers' machines; CI replays one fixed seed, so a CI
// result never depends on chance. FC_SEED replays a reported counterexample anywhere.
import fc from 'fast-check';

const seed = process.env.FC_SEED ?? (process.env.CI ? '20261122' : undefined);
if (seed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: Number(seed) });
