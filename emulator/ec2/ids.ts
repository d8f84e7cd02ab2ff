// EC2 resource ids and the addresses EC2 hands out.
import { randomBytes } from 'node:crypto';

export function hex(length: number): string {
  return randomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length);
}

export function newInstanceId(): string {
  return `i-${hex(17)}`;
}

/** `vol-…`, `eni-…`, `r-…`: EC2's 17-hex-digit ids. */
export function newId(prefix: string): string {
  return `${prefix}-${hex(17)}`;
}

/** A locally administered unicast MAC, as EC2 gives network interfaces (`0a:…` or `12:…`). */
export function newMacAddress(): string {
  const bytes = [...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0'));
  return ['0a', ...bytes].join(':');
}

/** The n-th private address of the emulator's one VPC (10.0.0.0/8). */
export function privateIp(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** A public address in 3.0.0.0/8, one of the ranges AWS assigns public IPv4 addresses from. */
export function publicIp(n: number): string {
  return `3.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}
