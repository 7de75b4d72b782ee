// pino logger for a node: JSON lines by default (what log shippers and the
// cluster launcher read), pretty when stdout is a terminal.
import { type Logger, pino } from "pino";

export function createLogger(name: string, level: string): Logger {
  const pretty = process.stdout.isTTY === true && process.env.CAIRN_LOG_FORMAT !== "json";
  if (pretty) {
    return pino({
      level,
      base: { node: name },
      transport: { target: "pino-pretty", options: { colorize: true, ignore: "pid,hostname" } },
    });
  }
  return pino({ level, base: { node: name } });
}

export type { Logger };
