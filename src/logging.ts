// One structured logger for the whole process; components get a child with their name.
import winston from 'winston';
import type { LogFormat, LogLevel } from './log-options.js';

export { LOG_LEVELS, LOG_FORMATS, isLogLevel, type LogFormat, type LogLevel } from './log-options.js';

export type Logger = winston.Logger;

export function createLogger(level: LogLevel = 'info', stream: NodeJS.WritableStream = process.stderr, format: LogFormat = 'json'): Logger {
  const severity = winston.config.npm.levels;
  // winston formats every entry before its transports drop the ones below the level, so a
  // debug line in a hot path (one per xDS response and ACK) cost a timestamp and a JSON
  // serialisation even at info. Dropping them first makes them nearly free.
  const enabled = winston.format((info) => (severity[info.level] ?? 0) <= (severity[logger.level] ?? severity.info) ? info : false);
  const logger: Logger = winston.createLogger({
    level,
    format: winston.format.combine(enabled(), winston.format.timestamp(), format === 'text' ? textLine() : winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
  return logger;
}

/**
 * `2026-01-02T10:00:00.000Z warn  store: routing object not applied object="TrafficRoute shop/a" reason=Conflict`.
 * Every value is printed bare or JSON-quoted, so an entry stays on one line whatever it holds.
 */
function textLine(): winston.Logform.Format {
  return winston.format.printf((info) => {
    const { level, message, timestamp, component, ...fields } = info;
    const head = `${String(timestamp)} ${level.padEnd(5)} ${component === undefined ? '' : `${textValue(component)}: `}${oneLine(message)}`;
    const tail = Object.entries(fields).map(([k, v]) => ` ${k}=${textValue(v)}`).join('');
    return head + tail;
  });
}

/** The message is the logger's own text: shown as written, newlines escaped. */
function oneLine(v: unknown): string {
  return String(v).replace(/\r?\n/g, '\\n');
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return JSON.stringify(v) ?? String(v);
}

/** A logger that drops everything, for library use and quiet tests. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
