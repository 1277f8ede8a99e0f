// One structured (JSON) logger for the whole process; components get a child with their name.
import winston from 'winston';

export type Logger = winston.Logger;

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

export function createLogger(level: LogLevel = 'info', stream: NodeJS.WritableStream = process.stderr): Logger {
  const severity = winston.config.npm.levels;
  // winston formats every entry before its transports drop the ones below the level, so a
  // debug line in a hot path (one per xDS response and ACK) cost a timestamp and a JSON
  // serialisation even at info. Dropping them first makes them nearly free.
  const enabled = winston.format((info) => (severity[info.level] ?? 0) <= (severity[logger.level] ?? severity.info) ? info : false);
  const logger: Logger = winston.createLogger({
    level,
    format: winston.format.combine(enabled(), winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
  return logger;
}

/** A logger that drops everything, for library use and quiet tests. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
