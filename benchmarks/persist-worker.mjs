// The worker half of benchmarks/persist.html: OPFS through synchronous access handles.
import { run } from "./persist-bench.mjs";

self.onmessage = async (e) => {
  try {
    const root = await navigator.storage.getDirectory();
    const out = await run({
      name: "bench-worker",
      poolMiB: e.data.poolMiB,
      fillMiB: e.data.fillMiB,
      rawWrite: async (bytes) => {
        const fh = await root.getFileHandle("raw-worker.bin", { create: true });
        const h = await fh.createSyncAccessHandle();
        const buf = new Uint8Array(16 << 20).fill(7);
        const t = performance.now();
        for (let done = 0; done < bytes; done += buf.length) {
          h.write(buf.subarray(0, Math.min(buf.length, bytes - done)), { at: done });
        }
        h.flush();
        const ms = performance.now() - t;
        h.close();
        await root.removeEntry("raw-worker.bin");
        return ms;
      },
    });
    self.postMessage(out);
  } catch (err) {
    self.postMessage({ error: String((err && err.stack) || err) });
  }
};
