// Exits 77 (a visible skip) when ./hazel upgrades /ws but does not carry
// hazel frames over it yet; 0 when it does; 1 when it cannot be started.
import { startHazel, transportMissing } from './server.mjs';

try {
  const s = await startHazel();
  const missing = await transportMissing(s.wsUrl);
  await s.stop();
  if (missing) {
    console.log('SKIP: needs the WebSocket transport (./hazel upgrades /ws, then closes 1011: ' +
                'the message module does not carry hazel frames over WebSocket yet)');
    process.exit(77);
  }
  process.exit(0);
} catch (e) {
  console.log(`cannot start ./hazel: ${e.message}`);
  process.exit(1);
}
