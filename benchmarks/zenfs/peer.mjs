// benchmarks/zenfs/peer.mjs — the ZenFS peer of the benchmark (issue 15): ZenFS's
// SingleBuffer backend on a SharedArrayBuffer, mounted into a Pyodide instance's
// Emscripten FS through ZenFS's own Emscripten plugin (@zenfs/emscripten).
//
// Benchmark-only: bundled by benchmarks/run.sh (esbuild, from benchmarks/package.json) into
// benchmarks/build/zenfs-peer.mjs, which node and the Chrome page both import. Nothing of
// the product imports it.
//
// Two fixes to @zenfs/emscripten 1.0.5 that Pyodide needs, kept here (not patched into
// node_modules):
//   1. errno numbers. The plugin throws `new FS.ErrnoError(e.errno)` with ZenFS's Linux
//      errno numbers, but Emscripten numbers its errnos differently (ENOENT is 44, and
//      Linux's 2 is Emscripten's EACCES): a lookup of a missing name would say EACCES and
//      O_CREAT could never create a file. The plugin gets a view of FS whose ErrnoError
//      maps the Linux number to its name and the name to this instance's ERRNO_CODES.
//   2. close of fd 0. ZenFS hands out descriptors from 0, and the plugin closes only when
//      `stream.nfd` is truthy: the first file opened was never closed, so its data (ZenFS
//      caches written data per open file until close) never reached the buffer.
// mmap is not supported by the plugin (no stream_ops.mmap: Emscripten says ENODEV).
import { configure, fs as zfs, SingleBuffer } from "@zenfs/core";
import EmscriptenPlugin from "@zenfs/emscripten/plugin.js";
import { Errno } from "kerium";
import corePackage from "../node_modules/@zenfs/core/package.json" with { type: "json" };
import pluginPackage from "../node_modules/@zenfs/emscripten/package.json" with { type: "json" };

/** The versions bundled, for the report. */
export const VERSIONS = { core: corePackage.version, emscripten: pluginPackage.version };

/**
 * Format `buffer` as an empty SingleBuffer file system (a superblock and the root
 * directory), without mounting it. Workers given the buffer then only attach to it, so
 * two of them never both format it.
 * @param {SharedArrayBuffer} buffer
 */
export function formatSingleBuffer(buffer) {
  SingleBuffer.create({ buffer });
}

/**
 * Configure ZenFS in this realm with a SingleBuffer backend on `buffer` at its root and
 * mount it into `pyodide`'s FS at `mountpoint` (made if missing).
 * @param {object} pyodide a loaded Pyodide
 * @param {SharedArrayBuffer} buffer formatted by formatSingleBuffer, or fresh
 * @param {string} mountpoint
 */
export async function mountZenFS(pyodide, buffer, mountpoint) {
  await configure({
    mounts: { "/": { backend: SingleBuffer, buffer } },
    // "can increase performance" (ZenFS docs); Emscripten checks modes above every mount
    disableAccessChecks: true,
  });
  const FS = pyodide.FS;
  const codes = pyodide.ERRNO_CODES;
  function ErrnoError(linuxErrno) {
    const name = typeof linuxErrno === "number" ? Errno[linuxErrno] : undefined;
    return new FS.ErrnoError(codes[name] ?? codes.EIO);
  }
  const emFS = Object.create(FS, { ErrnoError: { value: ErrnoError } });
  const plugin = new EmscriptenPlugin(zfs, emFS);
  const close = plugin.stream_ops.close;
  plugin.stream_ops.close = (stream) => {
    if (!FS.isFile(stream.object.mode) || stream.nfd === undefined) return close(stream);
    try {
      zfs.closeSync(stream.nfd);
    } catch (e) {
      if (!e.code) throw e;
      throw ErrnoError(e.errno);
    }
  };
  FS.mkdirTree(mountpoint);
  FS.mount(plugin, { root: "/" }, mountpoint);
}
