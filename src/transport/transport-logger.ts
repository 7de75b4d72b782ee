// The slice of a pino logger the transport uses, and a silent default, so the
// transport takes the node's logger without depending on pino itself.

export interface TransportLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const SILENT_LOGGER: TransportLogger = {
  info: () => {},
  warn: () => {},
};
