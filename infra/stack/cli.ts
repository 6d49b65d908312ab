import { down, stackContext, status, up } from './stack.js';
import { report } from './progress.js';

const usage = 'usage: npm run stack -- up | down | status';

async function main(command: string | undefined): Promise<number> {
  if (!command || !['up', 'down', 'status'].includes(command)) {
    console.error(usage);
    return 2;
  }
  const ctx = await stackContext();
  if (command === 'up') {
    await up(ctx);
    await status(ctx);
    return 0;
  }
  if (command === 'down') {
    await down(ctx);
    return 0;
  }
  return (await status(ctx)) ? 0 : 1;
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  async (error) => {
    await report(error);
    process.exit(error instanceof Error && error.message.startsWith('invalid stack settings') ? 2 : 1);
  },
);
