// Secret hygiene of one action run: no secret in the log (stdout, apart from the `::add-mask::` commands that
// register it), stderr, the job summary or the outputs, and — where the run can be expected to — an
// `::add-mask::` command for every secret it handled, so that the runner masks whatever follows.

/** What one run produced, as the runner would see it. */
export interface RunArtifacts {
  stdout: string;
  stderr: string;
  summary: string;
  /** The raw GITHUB_OUTPUT file. */
  outputsFile: string;
  outputs: Record<string, string>;
}

export interface SecretLeak {
  /** e.g. "an installation token", "the github-token input". */
  kind: string;
  /** e.g. "stdout line 12", "the job summary", "output result". */
  where: string;
  /** The line it appeared in, the secret replaced by ***. */
  excerpt: string;
}

/** Shorter values are not scanned: they would match by chance. */
const MIN_SECRET_LENGTH = 8;

/** The kind of a secret, from the input that carried it or the shape of what the emulator issued. */
export function secretKind(secret: string, given: ReadonlyMap<string, string> = new Map()): string {
  const input = given.get(secret);
  if (input) return `the ${input} input`;
  if (secret.includes('PRIVATE KEY-----')) return 'the GitHub App private key';
  if (secret.startsWith('ghs_')) return 'an installation token';
  if (/^gh[pousr]_/.test(secret)) return 'a GitHub token';
  if (/^[A-Z0-9]{29}$/.test(secret)) return 'a registration token';
  return 'a JIT config';
}

/**
 * The strings to look for: each secret, and each line of a multi-line one (a PEM key leaks line by line,
 * pasted with literal `\n` escapes, or JSON-encoded).
 */
function needles(secret: string): string[] {
  const lines = secret
    .split(/\r?\n|\\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= MIN_SECRET_LENGTH && !line.startsWith('-----'));
  return [...new Set([secret, ...lines])].filter((needle) => needle.length >= MIN_SECRET_LENGTH);
}

/** `::add-mask::` values, decoded as the runner decodes command data. */
export function maskedValues(stdout: string): Set<string> {
  const masked = new Set<string>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('::add-mask::')) continue;
    const data = line.slice('::add-mask::'.length).replace(/\r$/, '');
    masked.add(data.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'));
  }
  return masked;
}

export function findSecretLeaks(
  artifacts: RunArtifacts,
  secrets: Iterable<string>,
  given: ReadonlyMap<string, string> = new Map(),
): SecretLeak[] {
  const places: { where: string; text: string }[] = [];
  artifacts.stdout.split('\n').forEach((line, i) => {
    // The runner consumes add-mask commands; they are how a secret gets masked, not a leak.
    if (!line.startsWith('::add-mask::')) places.push({ where: `stdout line ${i + 1}`, text: line });
  });
  artifacts.stderr
    .split('\n')
    .forEach((line, i) => places.push({ where: `stderr line ${i + 1}`, text: line }));
  places.push({ where: 'the job summary', text: artifacts.summary });
  for (const [name, value] of Object.entries(artifacts.outputs))
    places.push({ where: `output ${name}`, text: value });
  places.push({ where: 'the outputs file', text: artifacts.outputsFile });

  const leaks: SecretLeak[] = [];
  for (const secret of new Set(secrets)) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    const kind = secretKind(secret, given);
    for (const needle of needles(secret)) {
      const place = places.find(({ text }) => text.includes(needle));
      if (!place) continue;
      const line = place.text.split('\n').find((l) => l.includes(needle)) ?? '';
      leaks.push({
        kind: needle === secret ? kind : `a line of ${kind}`,
        where: place.where,
        excerpt: line.split(needle).join('***').slice(0, 200),
      });
      break;
    }
  }
  return leaks;
}

/**
 * The secrets (or, for a multi-line one, lines of it) without an `::add-mask::` command in stdout. The runner
 * masks line by line, so a multi-line secret needs each of its lines masked.
 */
export function findUnmaskedSecrets(stdout: string, secrets: Iterable<string>): string[] {
  const masked = maskedValues(stdout);
  const missing: string[] = [];
  for (const secret of new Set(secrets)) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    const required = secret.includes('\n') || secret.includes('\\n') ? needles(secret).slice(1) : [secret];
    if (required.some((value) => !masked.has(value))) missing.push(secret);
  }
  return missing;
}

/** A short, safe way to refer to a secret in an error message. */
function preview(secret: string): string {
  return `${secret.slice(0, 4)}… (${secret.length} chars)`;
}

export interface SecretCheck {
  /** Secrets that must not appear anywhere. */
  secrets: Iterable<string>;
  /** Secrets the run was given, by input name (always scanned, and always to be masked). */
  given: ReadonlyMap<string, string>;
  /** Secrets that must have an `::add-mask::` command (empty: no mask check). */
  mustBeMasked: Iterable<string>;
}

/** Throws an Error naming which kind of secret leaked where, or which was never masked. */
export function assertSecretHygiene(artifacts: RunArtifacts, check: SecretCheck): void {
  const leaks = findSecretLeaks(artifacts, [...check.given.keys(), ...check.secrets], check.given);
  if (leaks.length > 0) {
    throw new Error(
      `secret leak in the action's run:\n${leaks
        .map((leak) => `  ${leak.kind} appears in ${leak.where}: ${leak.excerpt}`)
        .join('\n')}`,
    );
  }
  const unmasked = findUnmaskedSecrets(artifacts.stdout, check.mustBeMasked);
  if (unmasked.length > 0) {
    throw new Error(
      `the action never masked (::add-mask::) ${unmasked.length} secret(s) it handled:\n${unmasked
        .map((secret) => `  ${secretKind(secret, check.given)} ${preview(secret)}`)
        .join('\n')}`,
    );
  }
}
