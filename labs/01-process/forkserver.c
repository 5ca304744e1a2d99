/* forkserver.c: a forkserver -- a small process that forks children on
 * request (E18; CPython's multiprocessing.forkserver, the default start
 * method on Linux since 3.14).
 *
 * The idea: start one process early, while the program is still small and
 * has no other threads (only the watchdog, which holds no lock of the
 * program's), and from then on ask *it* to fork.  (CPython starts its
 * server with exec, a fresh interpreter, so it inherits nothing of the
 * program even when started late; this one is a fork, so it must be
 * started early.)  Every child is then a
 * copy of that small, single-threaded server, never of the big,
 * multi-threaded program: no copied locks held by threads that do not
 * exist in the child (fork_threads.c), and no page tables of a big parent
 * to copy (start_cost.c).  The price: a request and a reply over a pipe
 * for every start, and a child that has none of the state the program
 * built after the server started (CPython pickles the target and its
 * arguments to the server; here a job number says what to run).
 *
 * The server's children are forked the way CPython's server forks them
 * (os.fork, no parent-death signal); each job is short and bounded (it
 * ends at once, or within a timed lock), so none outlives the run by more
 * than that bound even if the lab is killed mid-request.
 */
#define _GNU_SOURCE
#include "process.h"

#include "checked.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

struct forkserver {
    struct proc process;
    int requests, replies; /* the lab's ends */
};

struct server_ends {
    int requests, replies; /* the server's ends */
};

static bool read_int(int fd, int *value)
{
    char *at = (char *)value;
    size_t left = sizeof *value;
    while (left > 0) {
        ssize_t got = read(fd, at, left);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        at += got;
        left -= (size_t)got;
    }
    return true;
}

static void write_int(int fd, int value)
{
    ssize_t wrote;
    do
        wrote = write(fd, &value, sizeof value);
    while (wrote == -1 && errno == EINTR);
    if (wrote != (ssize_t)sizeof value)
        die_at(__FILE__, __LINE__, "forkserver: write()", errno);
}

static int run_job(int job)
{
    switch (job) {
    case JOB_EXIT0:
        return 0;
    case JOB_TAKE_LOCK:
        return take_lock_job();
    }
    return 2;
}

/* The server: one request at a time -- fork, wait, reply with the exit
 * code (or -N).  End of the request pipe: the lab is done. */
static int server_main(void *arg)
{
    struct server_ends *ends = arg; /* the only descriptors it holds */
    int job;
    while (read_int(ends->requests, &job)) {
        pid_t pid = CHECK(fork());
        if (pid == 0)
            _exit(run_job(job));
        int status;
        while (waitpid(pid, &status, 0) == -1)
            if (errno != EINTR)
                die_at(__FILE__, __LINE__, "forkserver: waitpid()", errno);
        write_int(ends->replies, WIFSIGNALED(status) ? -WTERMSIG(status)
                                                     : WEXITSTATUS(status));
    }
    return 0;
}

struct forkserver *forkserver_start(void)
{
    int requests[2], replies[2];
    CHECK(pipe2(requests, O_CLOEXEC));
    CHECK(pipe2(replies, O_CLOEXEC));
    struct forkserver *server = xcalloc(1, sizeof *server);
    struct server_ends ends = {.requests = requests[0], .replies = replies[1]};
    proc_start_keeping(&server->process, "forkserver", server_main, &ends,
                       PROC_FDS(requests[0], replies[1]));
    close(requests[0]);
    close(replies[1]);
    server->requests = requests[1];
    server->replies = replies[0];
    return server;
}

int forkserver_run(struct forkserver *server, enum forkserver_job job)
{
    write_int(server->requests, (int)job);
    int code;
    if (!read_int(server->replies, &code))
        die_at(__FILE__, __LINE__, "forkserver: no reply (server died)", EPIPE);
    return code;
}

pid_t forkserver_pid(const struct forkserver *server)
{
    return server->process.pid;
}

void forkserver_stop(struct forkserver *server)
{
    close(server->requests); /* the server sees end of file and returns */
    proc_join(&server->process, -1);
    close(server->replies);
    free(server);
}
