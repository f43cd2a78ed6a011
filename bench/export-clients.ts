/** The export scenario's clients: a download read at full speed or at a set pace, and one that hangs up midway. */
import http from 'node:http';

export interface DownloadResult {
  status: number;
  bytes: number;
  /** Records after the header row (CRLF-ended lines less one). */
  rows: number;
  firstByteMs: number;
  totalMs: number;
  complete: boolean;
}

/** Downloads `url`, reading at most `bytesPerSecond` (unbounded when absent) by pausing the response. */
export function download(url: string, token: string, bytesPerSecond?: number): Promise<DownloadResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let bytes = 0;
      let lines = 0;
      let firstByteMs = 0;
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - started;
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        if (bytesPerSecond === undefined) return;
        const aheadMs = (bytes / bytesPerSecond) * 1000 - (performance.now() - started);
        if (aheadMs > 5) {
          res.pause();
          setTimeout(() => res.resume(), aheadMs);
        }
      });
      res.on('error', () => {});
      res.on('close', () =>
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          rows: Math.max(0, lines - 1),
          firstByteMs,
          totalMs: performance.now() - started,
          complete: res.complete,
        }),
      );
    });
    req.on('error', reject);
  });
}

/**
 * Starts a download, reads `readBytes` of it, stops reading (the server meets backpressure mid-stream),
 * waits until `busy()` sees the export's connection at work, hangs up, and measures how long the
 * connection takes to be given back (`busy()` false again).
 */
export async function hangUpMidway(url: string, token: string, readBytes: number, busy: () => Promise<boolean>): Promise<number> {
  const req = http.get(url, { headers: { authorization: `Bearer ${token}` } });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  res.on('error', () => {});
  let bytes = 0;
  await new Promise<void>((resolve) => {
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes >= readBytes) {
        res.pause();
        resolve();
      }
    });
  });
  const deadline = Date.now() + 10_000;
  while (!(await busy())) {
    if (Date.now() > deadline) throw new Error('the export was not mid-stream when its client stopped reading');
    await new Promise((r) => setTimeout(r, 20));
  }
  const cutAt = performance.now();
  req.destroy();
  while (await busy()) {
    if (performance.now() - cutAt > 30_000) throw new Error('the export connection was not released within 30 s of the hang-up');
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - cutAt;
}
