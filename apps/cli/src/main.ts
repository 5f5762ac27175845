// fluxrig: the operator CLI's entry point; the only file that touches process state.
import { homedir, userInfo } from "node:os";
import { isatty } from "node:tty";
import { runCli } from "./cli.js";

function loginName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (some containers): the audit log then says just "api".
    return undefined;
  }
}

// `fluxrig racks list | head -1` closes the pipe early; that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const code = await runCli(process.argv.slice(2), {
  io: {
    stdout: process.stdout,
    stderr: process.stderr,
    // isatty(0) rather than process.stdin.isTTY: touching process.stdin opens a handle.
    stdinIsTTY: isatty(0),
    stdin: () => process.stdin,
  },
  env: process.env,
  fetch: (input, init) => fetch(input, init),
  now: () => new Date(),
  homeDir: homedir(),
  username: loginName(),
  onInterrupt: (listener) => {
    process.on("SIGINT", listener);
    process.on("SIGTERM", listener);
    return () => {
      process.off("SIGINT", listener);
      process.off("SIGTERM", listener);
    };
  },
});

// Node's fetch keeps an idle keep-alive socket and its timers for a while after the last answer; a CLI that is
// done should not wait for them. Exit once both streams have flushed what was written.
process.exitCode = code;
const flushed = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => stream.write("", () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
