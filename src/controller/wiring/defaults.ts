/** Defaults shared by the controller and the dry run, so `plan` shows the pods the controller makes. */
export const DEFAULT_DEADLINE_SECS = 900;
export const MAX_DEADLINE_SECS = 7200;
