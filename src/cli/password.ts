// Where a password comes from, never the command line (it would show in `ps`
// and shell history): --password-stdin, the CAIRN_PASSWORD variable, or a
// prompt with echo off when stdin is a terminal.
import { CliError } from "./parse.js";

const PASSWORD_CHARS_MAX = 1024;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > 4 * PASSWORD_CHARS_MAX) throw new CliError("the password on stdin is too long");
    chunks.push(buffer);
  }
  // Only the line ending `echo` adds is dropped; other whitespace is part of the password.
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let input = "";
    const finish = (error: Error | null): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (error === null) resolve(input);
      else reject(error);
    };
    const onData = (text: string): void => {
      for (const char of text) {
        if (char === "\r" || char === "\n") {
          finish(null);
          return;
        }
        if (char === "\u0003") {
          finish(new CliError("cancelled", 130));
          return;
        }
        if (char === "\u007f" || char === "\b") input = input.slice(0, -1);
        else if (input.length < PASSWORD_CHARS_MAX) input += char;
      }
    };
    stdin.on("data", onData);
  });
}

export async function readPassword(options: { readonly passwordStdin?: boolean }): Promise<string> {
  if (options.passwordStdin === true) return readStdin();
  const fromEnv = process.env.CAIRN_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (process.stdin.isTTY === true) return promptHidden("password: ");
  throw new CliError(
    "no password given: pipe it with --password-stdin or set CAIRN_PASSWORD (it is never taken as an argument)",
  );
}
