// Where the README's Troubleshooting explains each trouble the summary reports: the anchor of its row, and what to
// do in a few words. test/docs/readme.test.ts checks that every anchor exists in README.md.

export const TROUBLESHOOTING = {
  failedItems: 'ts-failed-items',
  readFailed: 'ts-read-failed',
  repository: 'ts-repository',
  githubPermissions: 'ts-github-permissions',
  awsCredentials: 'ts-aws-credentials',
  awsDenied: 'ts-aws-denied',
  launchDenied: 'ts-launch-denied',
  spotRole: 'ts-spot-role',
  launchTemplate: 'ts-launch-template',
  registerDenied: 'ts-register-denied',
  capacity: 'ts-capacity',
  lease: 'ts-lease',
  store: 'ts-store',
  breaker: 'ts-breaker',
  runnerOutdated: 'ts-runner-outdated',
  spotInterruption: 'ts-spot-interruption',
  unserved: 'ts-unserved-jobs',
  maxReached: 'ts-max-reached',
  metrics: 'ts-metrics',
  config: 'ts-config',
} as const;

export type Trouble = keyof typeof TROUBLESHOOTING;

/** A link to the README row, or the row named in words when the action's own repository is not known. */
export function troubleshootingLink(
  docsUrl: string | undefined,
  trouble: Trouble,
  text = 'Troubleshooting',
): string {
  const anchor = TROUBLESHOOTING[trouble];
  return docsUrl ? `[${text}](${docsUrl}#${anchor})` : `README.md, ${text} (#${anchor})`;
}

/** Which row explains a failed item, from its action and error code, and what to do. */
export function troubleForFailure(action: string, code: string): { trouble: Trouble; fix: string } {
  if (/ServiceLinkedRole/i.test(code))
    return { trouble: 'spotRole', fix: 'create the Spot service-linked role once' };
  if (/^InvalidLaunchTemplate/.test(code))
    return { trouble: 'launchTemplate', fix: "check the pool's launchTemplate and region" };
  if (/Insufficient|Unfulfillable|Shortfall/.test(code))
    return {
      trouble: 'capacity',
      fix: 'add instance types or subnets to the pool, or use spot-with-fallback',
    };
  if (code === 'BootFailures')
    return {
      trouble: 'breaker',
      fix: "read an instance's console output; fix the AMI, the bootstrap or bootTimeout",
    };
  if (code === 'CredentialsProviderError')
    return { trouble: 'awsCredentials', fix: 'run aws-actions/configure-aws-credentials before the action' };
  if (code === 'HTTP 403' || code === 'HTTP 401')
    return { trouble: 'githubPermissions', fix: "check the GitHub App's permissions and installation" };
  if (/Unauthorized|AccessDenied|AuthFailure|Forbidden/.test(code)) {
    if (action === 'launch')
      return { trouble: 'launchDenied', fix: 'compare the launch template with the IAM policy' };
    if (action === 'register') return { trouble: 'registerDenied', fix: 'let the role write its parameters' };
    return {
      trouble: 'awsDenied',
      fix: 'attach examples/iam/runner-scaler-policy.json with your environment',
    };
  }
  return { trouble: 'failedItems', fix: 'the next run retries; if it fails again, read the error detail' };
}
