// A bare aedes broker for the throughput baseline: no authentication, no database, PUBACK at once.
// Started by bench/telemetry-throughput.ts in a process of its own; prints one line when listening.
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] ?? 0);
const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
process.once('SIGTERM', () => broker.close(() => server.close(() => process.exit(0))));
