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
