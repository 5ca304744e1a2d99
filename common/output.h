/* output.h: a lab's output reaches its reader, or the lab says it did not.
 *
 * stdout is buffered: printf() succeeding means the text is in a buffer,
 * not that it was written.  The write happens later, at a flush or at exit,
 * and exit() ignores its failure.  So `count --csv > /dev/full` (disk full)
 * or a closed stdout used to exit 0 with every row lost.
 *
 * output_guard() is the one mechanism, and flags_parse() calls it (every
 * lab's first step), so every lab has it without a line of its own
 * (calling it again is harmless).  It does three things:
 *   - at exit (a return from main(), exit(), --help), flushes stdout and
 *     checks it.  On a write error: one line on stderr,
 *         count: cannot write standard output: No space left on device
 *     the cleanup steps (cleanup.h), and exit status 4 (EXIT_SYSTEM),
 *     whatever status the lab was about to return;
 *   - if descriptor 0, 1 or 2 is closed at start, puts /dev/null, opened
 *     read-only, in its place: a write there still fails (EBADF, as on the
 *     closed descriptor, and the check above reports it), but no file the
 *     lab opens later can take number 1 and receive its output;
 *   - ignores SIGPIPE (as watchdog_start() does): stdout into a pipe whose
 *     reader is gone is an EPIPE write error reported as above, not a silent
 *     death by signal.
 * Only the process that called it checks; children end with _exit() (proc.h)
 * and leave stdout to their parent.
 */
#ifndef COMMON_OUTPUT_H
#define COMMON_OUTPUT_H

void output_guard(const char *program_name);

/* SIGPIPE ignored, unless the program installed a handler of its own: a
 * write to a pipe or socket whose reader is gone then fails with EPIPE, a
 * return value the writer handles, instead of killing the program (CPython
 * does the same at start-up).  Inherited by every child.  The one place
 * that does it: output_guard(), watchdog_start(), the channel and the
 * manager all call it. */
void output_ignore_sigpipe(void);

#endif
