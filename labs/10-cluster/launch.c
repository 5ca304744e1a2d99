/* launch.c: `cluster --launch`: run mpirun, time it, and reap every process it leaves behind.
 *
 * cluster.sh runs mpirun through this, for two reasons the shell cannot
 * handle:
 *   - mpirun does not wait for the daemons it started through the launcher
 *     agent (its "ssh"): it exits while they are still ending, and they are
 *     left to init, alive or as zombies.  This process makes itself a child
 *     subreaper (PR_SET_CHILD_SUBREAPER): every orphan of the job becomes
 *     its child, and it reaps them all -- killing stragglers after a grace
 *     period -- before it exits.  Nothing is left, whatever mpirun does.
 *   - the start-up measurement needs a monotonic clock, which bash lacks.
 *
 * Usage (not for people: cluster.sh builds the command line):
 *     cluster --launch TIMEFILE BACKSTOP mpirun ARGS...
 * writes mpirun's wall time in seconds to TIMEFILE, SIGKILLs the whole job
 * after BACKSTOP seconds if mpirun's own --timeout has not ended it, and
 * exits with mpirun's status (128+N if a signal N stopped it).  SIGINT,
 * SIGTERM and SIGHUP are passed on to mpirun as SIGTERM, which makes it
 * stop its ranks and daemons.
 */
#define _GNU_SOURCE
#include "launch.h"

#include "checked.h"
#include "timing.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reap every child that has ended; note mpirun's status. */
static void reap(pid_t mpirun, bool *mpirun_done, int *mpirun_status)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (pid == mpirun) {
            *mpirun_done = true;
            *mpirun_status = WIFEXITED(status) ? WEXITSTATUS(status)
                                               : 128 + WTERMSIG(status);
        }
}

/* SIGKILL every child of this process (adopted orphans included), read
 * from /proc: the children of each of our threads.  Returns how many. */
static int kill_children(void)
{
    int killed = 0;
    DIR *tasks = opendir("/proc/self/task");
    if (tasks == NULL)
        return 0;
    for (struct dirent *t; (t = readdir(tasks)) != NULL;) {
        if (t->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", t->d_name);
        FILE *list = fopen(path, "r");
        if (list == NULL)
            continue;
        for (int pid; fscanf(list, "%d", &pid) == 1;)
            killed += kill(pid, SIGKILL) == 0;
        fclose(list);
    }
    closedir(tasks);
    return killed;
}

int launch_main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "cluster: --launch TIMEFILE BACKSTOP mpirun ARGS...\n");
        return EXIT_USAGE;
    }
    const char *time_file = argv[1];
    double backstop = atof(argv[2]);
    char **command = argv + 3;

    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    sigset_t signals, old;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGCHLD);
    CHECK(sigprocmask(SIG_BLOCK, &signals, &old));
    int signal_fd = CHECK(signalfd(-1, &signals, SFD_CLOEXEC));

    double started = clock_seconds();
    pid_t mpirun = CHECK(fork());
    if (mpirun == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(command[0], command);
        fprintf(stderr, "cluster: --launch: cannot run %s\n", command[0]);
        _exit(127);
    }

    bool done = false;
    int status = 0, stopped_by = 0;
    double took = 0;
    while (!done) {
        double left = started + backstop - clock_seconds();
        if (left <= 0) {
            fprintf(stderr, "cluster: --launch: mpirun still running after "
                            "%g s: killing the whole job\n", backstop);
            kill(mpirun, SIGKILL);
            backstop += 3600; /* once */
            left = 1;
        }
        struct pollfd wait = {.fd = signal_fd, .events = POLLIN};
        int rc = poll(&wait, 1, (int)(left * 1000) + 1);
        if (rc <= 0)
            continue;
        struct signalfd_siginfo info;
        if (read(signal_fd, &info, sizeof info) != sizeof info)
            continue;
        if (info.ssi_signo == SIGCHLD) {
            reap(mpirun, &done, &status);
            took = clock_seconds() - started;
        } else {
            stopped_by = (int)info.ssi_signo;
            kill(mpirun, SIGTERM); /* mpirun stops its ranks and daemons */
        }
    }

    /* mpirun has ended.  Its daemons (and, if it was killed, their ranks)
     * are ending too, and are now our children: give them a second to
     * finish by themselves, then kill whoever is left, until none is. */
    double grace_end = clock_seconds() + 1.0;
    for (;;) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid > 0)
            continue; /* one more reaped */
        if (pid == -1)
            break; /* ECHILD: no child left, running or zombie */
        if (clock_seconds() >= grace_end)
            kill_children();
        clock_sleep(0.01);
    }

    FILE *out = fopen(time_file, "w");
    if (out != NULL) {
        fprintf(out, "%.6f\n", took);
        fclose(out);
    }
    return stopped_by ? 128 + stopped_by : status;
}
