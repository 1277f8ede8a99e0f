// pilotfish's exit codes, as the README documents them.
export const EXIT = {
  ok: 0,
  /** The command could not do its job: a port in use, a missing file, no kubeconfig. */
  failure: 1,
  /** The command line is wrong: an unknown command or flag, a bad value, a stray argument. */
  usage: 2,
  /** The command ran and found problems in the config it checked (`analyze`, `config-dump`). */
  configProblems: 3,
} as const;
