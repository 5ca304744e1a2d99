/* checked.h: system calls that either succeed or stop the program, loudly.
 *
 * A lab should read as a lesson, not as a wall of `if (rc == -1)`.  These
 * macros (the idea of CS:APP's capitalised wrappers) check the call, and on an
 * unexpected failure print file:line, the call's text and strerror, then exit
 * with status EXIT_SYSTEM (4).  Two rules the originals got wrong:
 *   - a failure must not look like success, so the status is never 0;
 *   - pthread functions RETURN their error code and leave errno alone, so
 *     CHECK_PT reports the returned code, while CHECK reports errno.
 * Expected conditions (a timeout, a full queue, a dead worker) are never
 * reported through these: they are return values the caller handles.
 */
#ifndef COMMON_CHECKED_H
#define COMMON_CHECKED_H

#include <errno.h>
#include <stddef.h>

/* Exit statuses shared by every lab (the lab contract in DESIGN.md). */
enum {
    EXIT_OK = 0,         /* the experiment ran and its result is what it claims */
    EXIT_WRONG = 1,      /* the lab's own check of its result failed */
    EXIT_USAGE = 2,      /* bad command line: nothing was run */
    EXIT_WATCHDOG = 3,   /* the watchdog stopped a run that did not finish */
    EXIT_SYSTEM = 4,     /* a system call failed unexpectedly (file:line printed) */
    EXIT_INTERRUPTED = 130 /* Ctrl+C / SIGTERM: children killed and reaped first */
};

/* End the whole process now with `status`, as _exit() does, from a
 * teardown path (die_at, the watchdog): other threads may still be
 * running, or have ended without being joined, and they end with the
 * process.  It is the exit_group system call itself, so that
 * ThreadSanitizer's _exit() hook does not report those threads as leaked
 * (every real report has already stopped the program: halt_on_error). */
_Noreturn void exit_at_once(int status);

/* Print "file:line: what: strerror(code)" and exit with EXIT_SYSTEM. */
_Noreturn void die_at(const char *file, int line, const char *what, int code);

/* For calls that return -1 and set errno (fork, pipe, mmap's MAP_FAILED is
 * handled by CHECK_PTR).  Evaluates to the call's result. */
#define CHECK(call)                                                            \
    __extension__({                                                            \
        __typeof__(call) check_rc_ = (call);                                   \
        if (check_rc_ == -1)                                                   \
            die_at(__FILE__, __LINE__, #call, errno);                          \
        check_rc_;                                                             \
    })

/* For pthread_* calls: they return 0 or an error number, never set errno. */
#define CHECK_PT(call)                                                         \
    do {                                                                       \
        int check_pt_rc_ = (call);                                             \
        if (check_pt_rc_ != 0)                                                 \
            die_at(__FILE__, __LINE__, #call, check_pt_rc_);                   \
    } while (0)

/* For calls that return NULL (or MAP_FAILED, passed as `bad`) on failure. */
#define CHECK_PTR(call, bad)                                                   \
    __extension__({                                                            \
        __typeof__(call) check_ptr_ = (call);                                  \
        if (check_ptr_ == (bad))                                               \
            die_at(__FILE__, __LINE__, #call, errno);                          \
        check_ptr_;                                                            \
    })

/* malloc/calloc that never return NULL. */
void *xcalloc(size_t count, size_t size);

#endif
