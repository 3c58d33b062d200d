// Exit statuses, the same for every command, so scripts can tell a difference found
// from bad usage from a failure. Error codes map here from QuiltError.code.
import type { ErrorCode } from "../errors.js";

export const EXIT_OK = 0;
/** A check ran and found a difference (verify, status of a modified directory). */
export const EXIT_DIFFERENCE = 1;
/** Bad usage: unknown command or option, missing or invalid argument. */
export const EXIT_USAGE = 2;
export const EXIT_ERROR = 3;
export const EXIT_NOT_FOUND = 4;
export const EXIT_INTEGRITY = 5;
export const EXIT_UNREACHABLE = 6;

export function exitCodeFor(code: ErrorCode | undefined): number {
  switch (code) {
    case "EUSAGE":
    case "EBADSPEC":
      return EXIT_USAGE;
    case "ENOTFOUND":
      return EXIT_NOT_FOUND;
    case "EHASHMISMATCH":
    case "EBADMANIFEST":
    case "ESTALE":
      return EXIT_INTEGRITY;
    case "EUNREACHABLE":
      return EXIT_UNREACHABLE;
    default:
      return EXIT_ERROR;
  }
}
