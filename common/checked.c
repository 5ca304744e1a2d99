/* checked.c: the one place that turns an unexpected failure into an exit. */
#define _GNU_SOURCE /* syscall() */
#include "checked.h"
#include "cleanup.h"
#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

_Noreturn void die_at(const char *file, int line, const char *what, int code)
{
    char message[512];
    int length = snprintf(message, sizeof message, "%s:%d: %s: %s\n", file,
                          line, what, strerror(code));
    if (length > (int)sizeof message - 1)
        length = (int)sizeof message - 1;
    /* One write(), so the line is not interleaved with other processes. */
    ssize_t ignored = write(STDERR_FILENO, message, (size_t)length);
    (void)ignored;
    /* Leave nothing behind even on this path: the children we started die
     * with us.  (In a child process the registry is empty.) */
    proc_kill_all_and_reap(0.5);
    cleanup_run(); /* temporary files too: nobody is writing them now */
    fflush(stdout);
    exit_at_once(EXIT_SYSTEM);
}

_Noreturn void exit_at_once(int status)
{
    syscall(SYS_exit_group, status);
    _exit(status); /* not reached */
}

void *xcalloc(size_t count, size_t size)
{
    void *memory = calloc(count ? count : 1, size ? size : 1);
    if (memory == NULL)
        die_at(__FILE__, __LINE__, "calloc", errno);
    return memory;
}
