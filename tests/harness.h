/* harness.h: what the tests need beyond Check itself.
 *
 *  - program_run(): run a lab binary (from BIN_DIR, the binaries of the same
 *    build variant, or from $LAB_BIN_DIR when set: make grade) with a hard time bound, capturing stdout and stderr, so
 *    integration tests can check exit statuses and output.
 *  - become_subreaper() / children_left(): the test process adopts every
 *    orphan of the programs it runs (PR_SET_CHILD_SUBREAPER), so "the
 *    program left no process behind" is a check that can actually fail: a
 *    leftover child would be re-parented to us and show up here.
 *
 * Every test file provides one `Suite *NAME_suite(void)` listed in main.c.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifndef BIN_DIR
#define BIN_DIR "build/bin"
#endif

struct program_result {
    int status;      /* exit status, or -N if killed by signal N */
    bool timed_out;  /* the harness killed it at the time bound */
    double seconds;  /* wall time */
    char *out, *err; /* NUL-terminated captured output (free with _free) */
};

struct running_program {
    pid_t pid;
    int out_fd, err_fd;
};

/* Start BIN_DIR/argv[0] with the rest of argv (NULL-terminated), in a
 * process group of its own (its pid is the group id). */
struct running_program program_start(const char *const argv[]);

/* Collect its output and wait for it, killing it after timeout_seconds. */
struct program_result program_finish(struct running_program *program,
                                     double timeout_seconds);

/* The command line argv[0..] as one text, for failure messages (cut to
 * `size` bytes, always NUL-terminated). */
void describe(const char *const argv[], char *text, size_t size);

/* program_start + program_finish. */
struct program_result program_run(double timeout_seconds,
                                  const char *const argv[]);
void program_result_free(struct program_result *result);

/* A bad command line and what its error must name. */
struct bad_line {
    const char *args[6]; /* NULL-terminated, after the program name */
    const char *names;   /* what stderr's first line must contain */
};

/* The lab contract for bad input: run `program` with `bad->args` and check
 * exit 2, nothing on stdout, "PROGRAM: ..." naming `bad->names` on stderr's
 * first line, and the usage hint alone on the second. */
void expect_usage_error(const char *program, const struct bad_line *bad);

/* Make this process the reaper of its descendants' orphans. */
void become_subreaper(void);

/* Reap any exited descendants and return how many processes (running or
 * zombie) this process still has as children, waiting up to
 * grace_seconds for dying ones to finish. */
int children_left(double grace_seconds);

/* The strict check for "the program reaped its own children": right after a
 * program under test has exited (and been reaped by us), any process that is
 * now our child -- running or a zombie -- was orphaned by it and re-parented
 * to us.  Returns how many; kills and reaps them so tests stay independent.
 * Needs become_subreaper() before the program started. */
int orphans_adopted(void);

/* Where tests make their private directories: $TMPDIR, or /tmp. */
const char *temp_base(void);

/* Sanitized builds are slower: scale time bounds by this. */
double time_scale(void);

/* Count the lines of `text` (a trailing newline does not start a line). */
int count_lines(const char *text);

/* The pids of `pid`'s children (from /proc), at most `capacity`: the
 * children of every one of its threads. */
int children_of(pid_t pid, pid_t *pids, int capacity);

/* ---- Sub-children ------------------------------------------------------
 * Code that exits (die_at, a flag error, the watchdog firing) runs in a
 * child the test forks, with stdout and stderr captured in memory files;
 * the test then checks the exit status and the output. */
struct sub {
    pid_t pid;
    int out, err;
};

struct sub_result {
    int status;     /* exit status, or -N if killed by signal N */
    bool timed_out; /* killed by sub_finish at the time bound */
    double seconds;
    char out[16384], err[16384];
};

/* An anonymous in-memory file (memfd): no name in any directory, so
 * nothing to clean up.  read_all() reads it from the start, then closes it. */
int memory_file(const char *name);
void read_all(int fd, char *buffer, size_t size);

/* Fork; the child runs fn(arg) and exits with its return value. */
struct sub sub_start(int (*fn)(void *), void *arg);

/* Wait at most timeout seconds (scaled by time_scale()), then SIGKILL it.
 * The result lives in static storage until the next call. */
struct sub_result *sub_finish(struct sub *sub, double timeout);
struct sub_result *run_sub(int (*fn)(void *), void *arg, double timeout);

/* In a sub-child: report a failed expectation on stderr, return `code`. */
#define SUB_EXPECT(condition, code)                                            \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf(stderr, "sub-child check failed (line %d): %s\n",          \
                    __LINE__, #condition);                                     \
            return (code);                                                     \
        }                                                                      \
    } while (0)

/* Read one pid_t a sub-child wrote to a pipe, within timeout seconds. */
pid_t read_pid(int fd, double timeout);
bool pid_exists(pid_t pid);

/* SIGINT, SIGTERM and SIGHUP back to their default action.  A test process
 * inherits Check's runner handlers for them; a child that inherited those
 * in turn would signal the whole test's process group. */
void default_signals(void);

#endif
