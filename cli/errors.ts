/** Bad input or usage: reported on stderr with exit code 2, nothing on stdout. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The command ran but could not finish (bad data found, a system refused): stderr, exit 1, no stack trace. */
export class CommandFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailed';
  }
}
