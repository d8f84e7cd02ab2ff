// A standalone emulator: `node --import tsx emulator/cli.ts [options]`. Prints the variables a
// client needs and runs until SIGINT/SIGTERM. Its control API under /_emulator/ queues runs, seeds
// instances, advances time and shows the state and the call log.
import { parseArgs } from 'node:util';
import { DEFAULT_COORDINATION_TABLE, startEmulator } from './index.js';

const USAGE = `usage: cli.ts [--port N] [--host H] [--region R] [--org NAME]... [--repo OWNER/NAME]...
              [--table NAME]... [--speed N] [--budgets] [--latency-ms N] [--latency-per-kb-ms N]
              [--no-simulator] [--busy-lag-ms N]

  --table NAME   a DynamoDB table for the coordination store (the pools file's coordination.table), in
                 --region; the table runner-scaler is always there`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      region: { type: 'string', default: 'us-east-1' },
      org: { type: 'string', multiple: true, default: [] },
      repo: { type: 'string', multiple: true, default: [] },
      table: { type: 'string', multiple: true, default: [] },
      speed: { type: 'string' },
      budgets: { type: 'boolean', default: false },
      'latency-ms': { type: 'string', default: '0' },
      /** EC2's per-KB latency (DescribeInstances pages grow with the fleet); default DEFAULT_LATENCY_PER_KB_MS. */
      'latency-per-kb-ms': { type: 'string' },
      'no-simulator': { type: 'boolean', default: false },
      'busy-lag-ms': { type: 'string', default: '0' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const latency = Number(values['latency-ms']);
  const perKb = values['latency-per-kb-ms'];
  if (perKb !== undefined && !(Number(perKb) >= 0)) {
    throw new Error(`--latency-per-kb-ms: expected milliseconds per KB (a number >= 0), got ${perKb}`);
  }
  const emulator = await startEmulator({
    host: values.host,
    port: Number(values.port),
    region: values.region,
    ...(values.speed ? { speed: Number(values.speed) } : {}),
    ...(values.budgets ? { budgets: { github: true, ec2: true, ssm: true } } : {}),
    latencyMs: { ec2: latency, ssm: latency, github: latency },
    ...(perKb !== undefined ? { latencyPerKbMs: { ec2: Number(perKb) } } : {}),
    simulator: !values['no-simulator'],
    github: { orgs: values.org, repos: values.repo, busyLagMs: Number(values['busy-lag-ms']) },
    dynamodb: {
      tables: [DEFAULT_COORDINATION_TABLE, ...values.table].map((name) => ({ name, ttlAttribute: 'ttl' })),
    },
  });

  console.log('# runner-scaler emulator (EC2, SSM, GitHub) is running; use these variables:');
  for (const [key, value] of Object.entries(emulator.env)) console.log(`export ${key}=${value}`);
  console.log('# GitHub accepts any token (no token list configured).');
  console.log(`# control: GET ${emulator.url}/_emulator/state | GET ${emulator.url}/_emulator/calls`);
  console.log(
    `#          POST ${emulator.url}/_emulator/runs {"repository":"o/r","jobs":[{"labels":["self-hosted"]}]}`,
  );
  console.log(
    `#          POST ${emulator.url}/_emulator/instances {"environment":"e","pool":"p","withRunner":"idle"}`,
  );
  console.log(`#          POST ${emulator.url}/_emulator/advance {"ms":60000}`);
  console.log('# Ctrl-C stops it.');

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.stop();
  if (emulator.errors.length > 0) {
    for (const error of emulator.errors) console.error(error);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
