// The logger's settings by name, apart from the logger itself: the command line lists and checks
// them without loading winston, which costs more than the rest of a one-shot command's startup.

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

/** `json`: one JSON object per line, for collectors (the default). `text`: one readable line, for a terminal. */
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
