// Builds the Cornerstone3D viewer into ../static/readerstudy/viewer/ (committed; `make viewer`).
// Two ES modules: viewer.js (the page) and decodeImageFrameWorker.js (the DICOM decoder the
// loader starts as a module worker next to it). Only uncompressed transfer syntaxes (implicit
// and explicit little endian, big endian, deflate, RLE) are decoded: the WebAssembly codecs
// (JPEG, JPEG-LS, JPEG 2000, HTJ2K, JPEG XL) are replaced by a module that refuses, so the
// bundle needs no wasm and the Content-Security-Policy no 'wasm-unsafe-eval'.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "..", "static", "readerstudy", "viewer");
const loader = path.join(here, "node_modules", "@cornerstonejs", "dicom-image-loader", "dist", "esm");

const noWasmCodecs = {
  name: "no-wasm-codecs",
  setup(build) {
    build.onResolve({ filter: /^@cornerstonejs\/codec-/ }, (args) => ({
      path: args.path,
      namespace: "no-codec",
    }));
    build.onLoad({ filter: /.*/, namespace: "no-codec" }, (args) => ({
      contents:
        "export default function refuse() { return Promise.reject(new Error(" +
        JSON.stringify(`compressed DICOM (${args.path}) is not decoded by this viewer build`) +
        ")); }",
      loader: "js",
    }));
  },
};

const common = {
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  legalComments: "external",
  logLevel: "info",
  plugins: [noWasmCodecs],
  define: { "process.env.NODE_ENV": '"production"' },
  alias: { events: path.join(here, "shims", "events.js"), url: path.join(here, "shims", "url.js") },
};

await esbuild.build({
  ...common,
  entryPoints: { viewer: path.join(here, "src", "viewer.js") },
  outdir: out,
  // The loader's `new URL('./decodeImageFrameWorker.js', import.meta.url)` stays as written:
  // the worker is the second output below, in the same directory.
});
await esbuild.build({
  ...common,
  entryPoints: { decodeImageFrameWorker: path.join(loader, "decodeImageFrameWorker.js") },
  outdir: out,
});
