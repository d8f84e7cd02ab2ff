// What an instance type implies in an answer: architecture and CPU options.

/** Graviton families (`m7g`, `c6gn`, `t4g`, …) are arm64 with one thread per core. */
function isGraviton(instanceType: string): boolean {
  const family = instanceType.split('.')[0] ?? '';
  return /^[a-z]+\d+g[a-z]*$/.test(family);
}

const VCPUS_BY_SIZE: Record<string, number> = {
  nano: 2,
  micro: 2,
  small: 2,
  medium: 2,
  large: 2,
  xlarge: 4,
  metal: 96,
};

function vcpus(instanceType: string): number {
  const size = instanceType.split('.')[1] ?? 'large';
  const multiple = /^(\d+)xlarge$/.exec(size);
  if (multiple) return 4 * Number(multiple[1]);
  return VCPUS_BY_SIZE[size] ?? 2;
}

export function architecture(instanceType: string): 'arm64' | 'x86_64' {
  return isGraviton(instanceType) ? 'arm64' : 'x86_64';
}

export function cpuOptions(instanceType: string): { coreCount: number; threadsPerCore: number } {
  const threadsPerCore = isGraviton(instanceType) ? 1 : 2;
  return { coreCount: Math.max(1, vcpus(instanceType) / threadsPerCore), threadsPerCore };
}
