// Generates static protobufjs modules (+ .d.ts) from proto/ into src/gen/ and
// mirrors the JS into dist/src/gen/ so both vitest (TS sources) and the built
// server resolve them. Output is gitignored; nobody edits it.
// int64 fields decode as JS numbers (--force-number): every id and revision
// cairn issues stays below 2^53, which keeps the hot path free of Long objects.
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname; // proto/gen.mjs lives one level down
const bin = (name) => join(root, "node_modules", ".bin", name);

/** One generated module per protocol family, so each stays small to load. */
const modules = [
  { name: "raft", paths: ["proto/raft.proto"] },
  { name: "etcd", paths: ["proto/etcd"] },
  { name: "cairn", paths: ["proto/cairn"] },
];

function protoFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...protoFiles(full));
    else if (name.endsWith(".proto")) out.push(full);
  }
  return out;
}

/**
 * --force-number changes only the typings: with the `long` package installed,
 * protobufjs still decodes 64-bit fields as Long objects. Unsetting util.Long
 * before the generated defaults are computed makes them plain numbers at
 * runtime too, so the .d.ts tells the truth.
 */
function disableLong(file) {
  const anchor = 'import $protobuf from "protobufjs/minimal.js";';
  const text = readFileSync(file, "utf8");
  if (!text.includes(anchor)) throw new Error(`${file}: protobufjs import not found`);
  writeFileSync(
    file,
    text.replace(anchor, `${anchor}\n$protobuf.util.Long = undefined;\n$protobuf.configure();`),
  );
}

const genDir = join(root, "src", "gen");
const distGenDir = join(root, "dist", "src", "gen");
mkdirSync(genDir, { recursive: true });
mkdirSync(distGenDir, { recursive: true });

for (const mod of modules) {
  const files = mod.paths.flatMap((p) => {
    const full = join(root, p);
    if (!existsSync(full)) return [];
    return statSync(full).isDirectory() ? protoFiles(full) : [full];
  });
  if (files.length === 0) continue;
  const js = join(genDir, `${mod.name}.js`);
  const dts = join(genDir, `${mod.name}.d.ts`);
  execFileSync(
    bin("pbjs"),
    [
      "-t",
      "static-module",
      "-w",
      "es6",
      "--es6",
      // Its own root per module: raft.js and cairn.js both define the `cairn`
      // namespace and would overwrite each other on the shared default root.
      "-r",
      mod.name,
      "--force-number",
      "--no-verify",
      "--no-delimited",
      "--no-beautify",
      "-p",
      join(root, "proto"),
      "-o",
      js,
      ...files,
    ],
    { cwd: join(root, "proto"), stdio: "inherit" },
  );
  disableLong(js);
  execFileSync(bin("pbts"), ["--no-comments", "-o", dts, js], { stdio: "inherit" });
  copyFileSync(js, join(distGenDir, `${mod.name}.js`));
  console.log(`proto: ${mod.name} (${files.length} files)`);
}
