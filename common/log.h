/* log.h: log lines that say who printed them.
 *
 * The documents prove where a callback runs by logging the process id, the
 * process name and the thread id (Python's %(process)d %(processName)s
 * %(thread)d).  log_line() does the same:
 *
 *     [pid 4242 worker-1 tid 4250] counted to 100000000
 *
 * Each line goes out whole (stdout locked, then flushed), so lines from
 * several threads or processes never interleave mid-line, and their order in a
 * pipe matches the order they were printed in.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <sys/types.h>

/* Name the calling thread for log lines, ps and top (15 characters kept).
 * A process starts with its program's name. */
void log_set_name(const char *name);
const char *log_name(void);

/* The kernel's id of the calling thread (what top -H and gdb show). */
pid_t log_thread_id(void);

/* printf-style; a newline is added. */
void log_line(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
