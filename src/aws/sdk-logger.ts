// The logger given to every AWS SDK client. The SDK's logger middleware builds a filtered copy of every
// response for `logger.info` when the logger has one (the default NoOpLogger does): for a page of 1000
// instances that copy costs as much as parsing it. Without info the middleware skips it. `debug` stays, a
// no-op: the credential providers call it unconditionally, with short strings. SDK warnings (deprecations,
// clock skew) reach the job log's debug lines.
import type { EC2ClientConfig } from '@aws-sdk/client-ec2';

type Logger = NonNullable<EC2ClientConfig['logger']>;

export function createSdkLogger(debug: (message: string) => void = () => {}): Logger {
  const logger = {
    debug: () => {},
    warn: (...content: unknown[]) => debug(`AWS SDK: ${content.map(String).join(' ')}`),
    // Errors are thrown to the gateway, which rethrows them with context: nothing to log twice.
    error: () => {},
  };
  // The type asks for info; leaving it out is the point (the logger middleware calls it optionally).
  return logger as unknown as Logger;
}
