/* failures.c (lab 06): what can go wrong with a manager, and what a caller
 * sees -- always a return value, never a crash or a hang.
 *
 * A server process is a single point of failure that the documents'
 * Manager hides: every proxy call depends on it.  Four scenes, each checked:
 *   1. a peer sends garbage (a frame the server cannot decode): the server
 *      logs one line, closes that connection, and serves the others;
 *   2. a client is killed in the middle of a request (half a frame sent):
 *      its connection closes, and the server goes on;
 *   3. the manager is killed (SIGKILL): the next call returns "gone" at
 *      once -- a socket whose server died is closed by the kernel, so a
 *      waiting call sees the end of the stream, and a new one finds no one
 *      listening;
 *   4. shutdown (here: after the kill) leaves no process and no socket.
 */
#define _GNU_SOURCE
#include "share.h"

#include "channel.h"
#include "checked.h"
#include "manager.h"
#include "proc.h"
#include "timing.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* d['n'] = n, then read it back: true if the manager still serves. */
static bool still_serves(const struct manager_proxy *d, int64_t n)
{
    struct value key = value_string("n"), value = value_int(n), got;
    bool right = manager_dict_set(d, &key, &value) == MANAGER_OK &&
                 manager_dict_get(d, &key, &got) == MANAGER_OK &&
                 got.kind == VALUE_INT && got.integer == n;
    if (right)
        value_free(&got);
    value_free(&key);
    return right;
}

/* Half a request, then wait to be killed. */
static int send_half_a_request(void *arg)
{
    struct manager *manager = arg;
    int fd = manager_connect_raw(manager);
    struct channel_frame_header header = {.length = 64,
                                          .kind = CHANNEL_FRAME_VALUE};
    if (fd < 0 || write(fd, &header, sizeof header) != sizeof header ||
        write(fd, "L\3\0\0\0", 5) != 5)
        return EXIT_WRONG;
    pause(); /* BUGGY ON PURPOSE: never finishes its request */
    return EXIT_OK;
}

int experiment_failures(void)
{
    printf("share: what can go wrong with a manager -- each failure is a "
           "return value\n");
    struct manager *manager = manager_start();
    struct manager_proxy d;
    bool right = manager_dict(manager, &d) == MANAGER_OK && still_serves(&d, 1);
    printf("  manager pid %d serves d = manager.dict()\n",
           (int)manager_pid(manager));

    /* 1. Garbage.  stdout first: the server's log line goes to stderr. */
    fflush(stdout);
    int fd = manager_connect_raw(manager);
    struct channel_frame_header garbage = {.length = 3,
                                           .kind = CHANNEL_FRAME_VALUE};
    char reply;
    bool closed = fd >= 0 && write(fd, &garbage, sizeof garbage) ==
                                 (ssize_t)sizeof garbage &&
                  write(fd, "???", 3) == 3 && read(fd, &reply, 1) == 0;
    if (fd >= 0)
        close(fd);
    bool serves = still_serves(&d, 2);
    printf("  1. a peer sent a frame that is not a value: %s;\n"
           "     d['n'] = 2 %s\n",
           closed ? "the server closed that connection"
                  : "WRONG: the connection stayed open",
           serves ? "still works" : "FAILED");
    right = right && closed && serves;

    /* 2. A client killed with half a request sent. */
    struct proc client;
    proc_start(&client, "half", send_half_a_request, manager);
    clock_sleep(0.05);
    proc_signal(&client, SIGKILL);
    proc_join(&client, -1);
    serves = still_serves(&d, 3);
    printf("  2. a client was killed with half a request sent (%s):\n"
           "     d['n'] = 3 %s\n",
           client.exitcode == -SIGKILL ? "SIGKILL" : "not killed?",
           serves ? "still works" : "FAILED");
    right = right && serves;

    /* 3. The manager killed. */
    char address[200];
    snprintf(address, sizeof address, "%s", manager_address(manager));
    CHECK(kill(manager_pid(manager), SIGKILL));
    clock_sleep(0.05); /* the kernel has closed its sockets by now */
    size_t length;
    double start = clock_seconds();
    enum manager_status status = manager_dict_len(&d, &length);
    double took = clock_seconds() - start;
    char how[32];
    printf("  3. the manager was killed (SIGKILL): len(d) returned %s after "
           "%s:\n     %s\n",
           manager_status_name(status), duration_text(took, how, sizeof how),
           manager_error_text());
    right = right && status == MANAGER_GONE;

    /* 4. Nothing left behind. */
    pid_t server = manager_pid(manager);
    bool asked = manager_shutdown(manager);
    struct stat info;
    bool clean = stat(address, &info) == -1 && kill(server, 0) == -1;
    printf("  4. shutdown %s: %s\n",
           asked ? "stopped the server" : "reaped the dead server",
           clean ? "no server process, no socket file left"
                 : "WRONG: something was left behind");
    right = right && clean;
    printf("  %s\n", right ? "every failure came back as a return value; "
                             "nothing hung, nothing was left"
                           : "WRONG: see above");
    return right ? EXIT_OK : EXIT_WRONG;
}
