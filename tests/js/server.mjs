// Starts ./hazel with a WebSocket port for the JavaScript tests, and tells
// whether that ./hazel carries hazel frames over WebSocket yet.
//
//   const s = await startHazel(['--idle-timeout', '600']);
//   s.wsUrl   // ws://127.0.0.1:PORT/ws
//   s.tcpPort, s.wsPort, s.pageUrl (http://127.0.0.1:PORT/)
//   await s.stop();   // SIGTERM, waits for the exit
//
// HAZEL_WS_URL and HAZEL_TCP_PORT in the environment name a server that is
// already running instead (then stop() does nothing).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function startHazel(args = [], { timeoutMs = 10000 } = {}) {
  if (process.env.HAZEL_WS_URL) {
    const wsUrl = process.env.HAZEL_WS_URL;
    const u = new URL(wsUrl);
    return Promise.resolve({
      wsUrl, wsPort: Number(u.port), tcpPort: Number(process.env.HAZEL_TCP_PORT),
      pageUrl: `http://${u.host}/`, stop: async () => {}, external: true,
    });
  }
  const child = spawn(path.join(root, 'hazel'),
    ['-b', '127.0.0.1', '-p', '0', '--ws-port', '0', '--log-level', 'info', ...args],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`./hazel did not start within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    child.on('exit', () => reject(new Error(`./hazel exited at start:\n${log}`)));
    child.stderr.on('data', (d) => {
      log += d;
      const tcp = /listening on 127\.0\.0\.1:(\d+) /.exec(log);
      const ws = /WebSocket port 127\.0\.0\.1:(\d+):/.exec(log);
      if (!tcp || !ws) return;
      clearTimeout(timer);
      const wsPort = Number(ws[1]);
      resolve({
        wsUrl: `ws://127.0.0.1:${wsPort}/ws`,
        wsPort,
        tcpPort: Number(tcp[1]),
        pageUrl: `http://127.0.0.1:${wsPort}/`,
        log: () => log,
        exited,
        stop: async () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}

