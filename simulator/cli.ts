/**
 * Run the Runway simulator on its own: `PORT=8787 npx tsx simulator/cli.ts`, then point
 * the bot (or any SDK client) at the printed URL with RUNWAYML_BASE_URL.
 */
import { startRunwaySimulator } from './index.ts';

const port = Number(process.env['PORT'] ?? 8787);
const simulator = await startRunwaySimulator({ port });
process.stdout.write(`Runway simulator listening on ${simulator.url}\nUse RUNWAYML_BASE_URL=${simulator.url}\n`);

const stop = (): void => {
  simulator.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
