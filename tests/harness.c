/* harness.c: running programs under test with bounds, and counting orphans. */
#define _GNU_SOURCE
#include "harness.h"

#include "timing.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

double time_scale(void) { return VARIANT[0] ? 4.0 : 1.0; }

const char *temp_base(void)
{
    const char *base = getenv("TMPDIR");
    return base != NULL && base[0] != '\0' ? base : "/tmp";
}

struct running_program program_start(const char *const argv[])
{
    int out[2], err[2];
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
    char path[4096];
    /* LAB_BIN_DIR: another build of the programs (make grade builds a
     * student's copy of one lab there); by default this variant's own. */
    const char *bin_dir = getenv("LAB_BIN_DIR");
    snprintf(path, sizeof path, "%s/%s", bin_dir ? bin_dir : BIN_DIR, argv[0]);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        /* Its own process group, as a shell gives a job: a test can then
         * send "Ctrl+C" to the whole group with kill(-pid, SIGINT). */
        setpgid(0, 0);
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        /* A clean signal state, as a shell would give it. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(path, (char *const *)argv);
        fprintf(stderr, "harness: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here: no race with the signal a test sends */
    close(out[1]);
    close(err[1]);
    return (struct running_program){.pid = pid, .out_fd = out[0],
                                    .err_fd = err[0]};
}

static void append(char **buffer, size_t *length, const char *data, size_t n)
{
    *buffer = realloc(*buffer, *length + n + 1);
    ck_assert_ptr_nonnull(*buffer);
    memcpy(*buffer + *length, data, n);
    *length += n;
    (*buffer)[*length] = '\0';
}

struct program_result program_finish(struct running_program *program,
                                     double timeout_seconds)
{
    struct program_result result = {0};
    size_t out_length = 0, err_length = 0;
    result.out = calloc(1, 1);
    result.err = calloc(1, 1);
    double start = clock_seconds();
    double deadline = start + timeout_seconds;
    struct pollfd fds[2] = {{.fd = program->out_fd, .events = POLLIN},
                            {.fd = program->err_fd, .events = POLLIN}};
    int open_fds = 2;
    while (open_fds > 0) {
        double left = deadline - clock_seconds();
        if (left <= 0) {
            result.timed_out = true;
            kill(program->pid, SIGKILL);
            break;
        }
        int rc = poll(fds, 2, (int)(left * 1000) + 1);
        if (rc == -1 && errno == EINTR)
            continue;
        ck_assert_int_ge(rc, 0);
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            char chunk[65536];
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else if (i == 0) {
                append(&result.out, &out_length, chunk, (size_t)n);
            } else {
                append(&result.err, &err_length, chunk, (size_t)n);
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int status = 0;
    while (waitpid(program->pid, &status, 0) == -1 && errno == EINTR)
        ;
    result.status = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
    result.seconds = clock_seconds() - start;
    return result;
}

struct program_result program_run(double timeout_seconds,
                                  const char *const argv[])
{
    struct running_program program = program_start(argv);
    return program_finish(&program, timeout_seconds);
}

void program_result_free(struct program_result *result)
{
    free(result->out);
    free(result->err);
    result->out = result->err = NULL;
}

void become_subreaper(void)
{
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

int children_left(double grace_seconds)
{
    double deadline = clock_seconds() + grace_seconds;
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ; /* reap what has ended */
        /* ECHILD: no child at all, running or not. */
        if (waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD)
            return 0;
        if (clock_seconds() >= deadline)
            break;
        clock_sleep(0.005);
    }
    /* Count the survivors from /proc: children whose parent is us. */
    int count = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)getpid(),
             (int)getpid());
    FILE *file = fopen(path, "r");
    if (file != NULL) {
        int pid;
        while (fscanf(file, "%d", &pid) == 1)
            count++;
        fclose(file);
    }
    return count > 0 ? count : 1;
}

int count_lines(const char *text)
{
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    if (*text && text[strlen(text) - 1] != '\n')
        lines++;
    return lines;
}

void describe(const char *const argv[], char *text, size_t size)
{
    size_t used = 0;
    text[0] = '\0';
    for (int i = 0; argv[i] != NULL; i++) {
        int n = snprintf(text + used, size - used, "%s%s", i ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}

int children_of(pid_t pid, pid_t *pids, int capacity)
{
    /* /proc/P/task/T/children lists the children forked by thread T only: a
     * pool forks from its supervisor thread, so read every thread's list. */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (tasks == NULL)
        return 0;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL && count < capacity) {
        if (entry->d_name[0] == '.')
            continue;
        char children[320];
        snprintf(children, sizeof children, "/proc/%d/task/%s/children",
                 (int)pid, entry->d_name);
        FILE *file = fopen(children, "r");
        if (file == NULL)
            continue; /* the thread ended meanwhile */
        int child;
        while (count < capacity && fscanf(file, "%d", &child) == 1)
            pids[count++] = child;
        fclose(file);
    }
    closedir(tasks);
    return count;
}

int orphans_adopted(void)
{
    int adopted = 0;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        adopted++; /* zombies: exited, but nobody reaped them */
    pid_t running[256];
    int count = children_of(getpid(), running, 256);
    for (int i = 0; i < count; i++) {
        kill(running[i], SIGKILL);
        if (waitpid(running[i], NULL, 0) == running[i])
            adopted++;
    }
    return adopted;
}

/* ---- Sub-children ---------------------------------------------------- */

void default_signals(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

/* An anonymous in-memory file: no name in any directory, gone when closed. */
int memory_file(const char *name)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    return fd;
}

void read_all(int fd, char *buffer, size_t size)
{
    ssize_t n = pread(fd, buffer, size - 1, 0);
    buffer[n > 0 ? n : 0] = '\0';
    close(fd);
}

struct sub sub_start(int (*fn)(void *), void *arg)
{
    struct sub sub = {.out = memory_file("sub-out"),
                      .err = memory_file("sub-err")};
    fflush(stdout);
    fflush(stderr);
    sub.pid = fork();
    ck_assert_int_ne(sub.pid, -1);
    if (sub.pid == 0) {
        dup2(sub.out, STDOUT_FILENO);
        dup2(sub.err, STDERR_FILENO);
        int rc = fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    return sub;
}

struct sub_result *sub_finish(struct sub *sub, double timeout)
{
    static struct sub_result result;
    memset(&result, 0, sizeof result);
    double start = clock_seconds();
    double deadline = start + timeout * time_scale();
    int status = 0;
    pid_t got;
    while ((got = waitpid(sub->pid, &status, WNOHANG)) == 0 &&
           clock_seconds() < deadline)
        clock_sleep(0.002);
    if (got == 0) {
        result.timed_out = true;
        kill(sub->pid, SIGKILL);
        waitpid(sub->pid, &status, 0);
    }
    result.seconds = clock_seconds() - start;
    result.status = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
    read_all(sub->out, result.out, sizeof result.out);
    read_all(sub->err, result.err, sizeof result.err);
    return &result;
}

struct sub_result *run_sub(int (*fn)(void *), void *arg, double timeout)
{
    struct sub sub = sub_start(fn, arg);
    return sub_finish(&sub, timeout);
}

pid_t read_pid(int fd, double timeout)
{
    struct pollfd ready = {.fd = fd, .events = POLLIN};
    ck_assert_msg(poll(&ready, 1, (int)(timeout * time_scale() * 1000)) == 1,
                  "no pid from the sub-child in time");
    pid_t pid = 0;
    ck_assert_int_eq(read(fd, &pid, sizeof pid), (ssize_t)sizeof pid);
    return pid;
}

bool pid_exists(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

void expect_usage_error(const char *program, const struct bad_line *bad)
{
    const char *argv[8] = {program};
    char command[512];
    int used = snprintf(command, sizeof command, "%s", program);
    for (int i = 0; bad->args[i] != NULL && i < 6; i++) {
        argv[i + 1] = bad->args[i];
        used += snprintf(command + used, sizeof command - (size_t)used, " %s",
                         bad->args[i]);
    }
    struct program_result r = program_run(30 * time_scale(), argv);
    ck_assert_msg(r.status == 2, "%s: exit %d, expected 2", command, r.status);
    ck_assert_msg(strcmp(r.out, "") == 0, "%s: stdout must be empty: %s",
                  command, r.out);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", program);
    ck_assert_msg(strncmp(r.err, prefix, strlen(prefix)) == 0, "%s: stderr: %s",
                  command, r.err);
    const char *newline = strchr(r.err, '\n');
    ck_assert_msg(newline != NULL, "%s: stderr: %s", command, r.err);
    ck_assert_msg(memmem(r.err, (size_t)(newline - r.err), bad->names,
                         strlen(bad->names)) != NULL,
                  "%s: first line must name %s: %s", command, bad->names,
                  r.err);
    char hint[128];
    snprintf(hint, sizeof hint, "Try '%s --help' for more information.\n",
             program);
    ck_assert_msg(strcmp(newline + 1, hint) == 0,
                  "%s: second line must be the usage hint: %s", command,
                  newline + 1);
    program_result_free(&r);
}
