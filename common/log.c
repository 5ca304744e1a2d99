/* log.c: one whole line per call, tagged with pid, name and thread id. */
#define _GNU_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The name lives in the kernel (the thread's "comm", 15 characters), not in
 * a variable: ps, top -H and gdb show the same name as our log lines, and a
 * freshly forked child naming itself writes no memory page of its own. */
void log_set_name(const char *name)
{
    prctl(PR_SET_NAME, name);
}

const char *log_name(void)
{
    static _Thread_local char name[16];
    if (prctl(PR_GET_NAME, name) != 0)
        strcpy(name, "?");
    return name;
}

pid_t log_thread_id(void) { return gettid(); }

void log_line(const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    flockfile(stdout);
    printf("[pid %d %s tid %d] ", (int)getpid(), log_name(), (int)gettid());
    vprintf(format, arguments);
    putchar('\n');
    fflush(stdout);
    funlockfile(stdout);
    va_end(arguments);
}
