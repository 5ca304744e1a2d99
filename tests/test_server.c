/* test_server.c: integration tests of build/bin/server (lab 09, E14).
 *
 * They run the real binary: `server --serve` on an ephemeral loopback port,
 * spoken to over raw sockets (every route and status code, keep-alive and
 * close, HTTP/1.0, a slow sender, a SIGKILLed worker, the drain on
 * SIGTERM), and the experiments that check themselves (every accept mode
 * and the event loop serving, the herd counts, the kill and cap
 * experiments, a few hundred hostile requests), and the load client's
 * counts against the server's.  Every run must leave no process behind
 * (the test process is the subreaper: an orphan would be adopted and
 * counted).  No speed is asserted; counts and shapes are.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "timing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- A server under test ------------------------------------------------- */

struct live_server {
    struct running_program program;
    int port;
};

/* Read one line of the server's stdout (byte by byte, so nothing after it
 * is taken from program_finish), within `seconds`. */
static bool read_line(int fd, char *line, size_t size, double seconds)
{
    double deadline = clock_seconds() + seconds;
    size_t have = 0;
    while (have < size - 1) {
        int ms = (int)((deadline - clock_seconds()) * 1000);
        struct pollfd wait = {.fd = fd, .events = POLLIN};
        if (ms <= 0 || poll(&wait, 1, ms) != 1)
            return false;
        char c;
        if (read(fd, &c, 1) != 1)
            return false;
        if (c == '\n')
            break;
        line[have++] = c;
    }
    line[have] = '\0';
    return true;
}

/* server --serve EXTRA...; waits for "listening on 127.0.0.1:PORT". */
static struct live_server serve_start(const char *const extra[])
{
    become_subreaper();
    const char *argv[24] = {"server", "--serve", "--timeout", "60"};
    int n = 4;
    for (int i = 0; extra[i] != NULL && n < 22; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    struct live_server s = {.program = program_start(argv)};
    char line[256];
    ck_assert_msg(read_line(s.program.out_fd, line, sizeof line, 10 * time_scale()),
                  "the server printed no first line");
    ck_assert_msg(sscanf(line, "listening on 127.0.0.1:%d", &s.port) == 1,
                  "first line: '%s'", line);
    ck_assert_int_gt(s.port, 0);
    return s;
}

/* Signal it, collect its output, check its exit status and that it left
 * no process behind. */
static struct program_result serve_stop(struct live_server *s, int signal_number,
                                        int expected)
{
    ck_assert_int_eq(kill(s->program.pid, signal_number), 0);
    struct program_result r = program_finish(&s->program, 20 * time_scale());
    int orphans = orphans_adopted();
    ck_assert_msg(!r.timed_out, "the server did not stop after signal %d",
                  signal_number);
    ck_assert_msg(r.status == expected, "server exit %d, expected %d; stderr: %s",
                  r.status, expected, r.err);
    ck_assert_msg(orphans == 0, "the server left %d process(es) behind", orphans);
    return r;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&address, sizeof address), 0);
    return fd;
}

static void send_text(int fd, const char *data, size_t length)
{
    ck_assert_int_eq(send(fd, data, length, MSG_NOSIGNAL), (ssize_t)length);
}

/* The answer to HEAD has a Content-Length and no body. */
static bool reading_head;

/* Read one whole response (headers, then Content-Length bytes) into out;
 * returns its status, or 0 if the connection closed first, -1 on timeout. */
static int read_response(int fd, char *out, size_t size, double seconds)
{
    double deadline = clock_seconds() + seconds * time_scale();
    size_t have = 0;
    out[0] = '\0';
    for (;;) {
        char *end = strstr(out, "\r\n\r\n");
        if (end != NULL) {
            const char *length = strcasestr(out, "Content-Length:");
            size_t body = length && !reading_head ? (size_t)atoi(length + 15) : 0;
            if (have >= (size_t)(end + 4 - out) + body)
                return atoi(out + 9);
        }
        int ms = (int)((deadline - clock_seconds()) * 1000);
        struct pollfd wait = {.fd = fd, .events = POLLIN};
        if (ms <= 0 || poll(&wait, 1, ms) != 1)
            return -1;
        ssize_t n = recv(fd, out + have, size - 1 - have, 0);
        if (n <= 0)
            return 0;
        have += (size_t)n;
        out[have] = '\0';
    }
}

/* Has the server closed this connection (EOF within `seconds`)? */
static bool closed_by_server(int fd, double seconds)
{
    struct pollfd wait = {.fd = fd, .events = POLLIN};
    if (poll(&wait, 1, (int)(seconds * time_scale() * 1000)) != 1)
        return false;
    char c;
    return recv(fd, &c, 1, 0) == 0;
}

/* One request on a fresh connection; returns the status, the response in out. */
static int exchange(int port, const char *request, size_t length, char *out,
                    size_t size)
{
    int fd = connect_to(port);
    send_text(fd, request, length);
    int status = read_response(fd, out, size, 5);
    close(fd);
    return status;
}

#define EXCHANGE(port, text, out) exchange((port), (text), sizeof(text) - 1, (out), sizeof(out))

static void expect_text(const char *text, const char *part)
{
    ck_assert_msg(strstr(text, part) != NULL, "lacks \"%s\":\n%s", part, text);
}

static int count_text(const char *text, const char *part)
{
    int n = 0;
    for (const char *at = strstr(text, part); at != NULL; at = strstr(at + 1, part))
        n++;
    return n;
}

/* Is the port listening on 127.0.0.1 and nowhere else?  (/proc/net/tcp:
 * local address in hex, state 0A = LISTEN.) */
static void expect_loopback_only(int port)
{
    FILE *file = fopen("/proc/net/tcp", "r");
    ck_assert_ptr_nonnull(file);
    char line[512];
    int listening = 0, elsewhere = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        unsigned address, local_port, state;
        if (sscanf(line, " %*d: %x:%x %*x:%*x %x", &address, &local_port, &state) != 3)
            continue;
        if ((int)local_port != port || state != 0x0A)
            continue;
        if (address == 0x0100007F)
            listening++;
        else
            elsewhere++;
    }
    fclose(file);
    ck_assert_int_ge(listening, 1);
    ck_assert_int_eq(elsewhere, 0);
    FILE *v6 = fopen("/proc/net/tcp6", "r");
    if (v6 != NULL) { /* nothing on the port over IPv6 either */
        while (fgets(line, sizeof line, v6) != NULL) {
            unsigned local_port, state;
            if (sscanf(line, " %*d: %*32[0-9A-Fa-f]:%x %*s %x", &local_port, &state) == 2)
                ck_assert_msg(!((int)local_port == port && state == 0x0A),
                              "listening on IPv6 too");
        }
        fclose(v6);
    }
}

/* ---- Routes and status codes --------------------------------------------- */

START_TEST(every_route_and_status_code)
{
    const char *extra[] = {"--workers", "2", "--threads", "2", NULL};
    struct live_server s = serve_start(extra);
    expect_loopback_only(s.port);
    char out[16384];
    ck_assert_int_eq(EXCHANGE(s.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", out), 200);
    expect_text(out, "\r\n\r\nHello, world!\n");
    expect_text(out, "Content-Length: 14\r\n");
    reading_head = true;
    ck_assert_int_eq(EXCHANGE(s.port, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", out), 200);
    reading_head = false;
    expect_text(out, "Content-Length: 14\r\n");
    ck_assert_msg(strstr(out, "Hello") == NULL, "HEAD sent a body:\n%s", out);
    ck_assert_int_eq(EXCHANGE(s.port, "GET /work?cpu=1000&io_ms=2 HTTP/1.1\r\n"
                                      "Host: t\r\n\r\n", out), 200);
    expect_text(out, "counted to 1000, waited 2 ms\n");
    ck_assert_int_eq(EXCHANGE(s.port, "GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n", out), 404);
    ck_assert_int_eq(EXCHANGE(s.port, "GET http://t/work?cpu=3 HTTP/1.1\r\n"
                                      "Host: t\r\n\r\n", out), 200);
    expect_text(out, "counted to 3,");

    /* Each rejection below is also one log line on stderr. */
    struct { const char *request; int status; const char *log; } bad[] = {
        {"GARBAGE\r\n\r\n", 400, "malformed request line"},
        {"GET / HTTP/1.1\r\n\r\n", 400, "without a Host"},
        {"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 400, "a body on GET"},
        {"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "a body on GET"},
        {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx", 405, "does not allow"},
        {"FROB / HTTP/1.1\r\nHost: t\r\n\r\n", 501, "unknown method"},
        {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505, "major version"},
        {"GET /work?cpu=many HTTP/1.1\r\nHost: t\r\n\r\n", 400, "/work: cpu"},
        {"GET /work?io_ms=20000 HTTP/1.1\r\nHost: t\r\n\r\n", 400, "/work: io_ms"},
        {"GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400, "folding"},
    };
    int rejections = 0;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int status = exchange(s.port, bad[i].request, strlen(bad[i].request), out,
                              sizeof out);
        ck_assert_msg(status == bad[i].status, "%s -> %d, expected %d",
                      bad[i].request, status, bad[i].status);
        expect_text(out, "Connection: close\r\n");
        rejections++;
    }
    ck_assert_int_eq(EXCHANGE(s.port, "POST / HTTP/1.1\r\nHost: t\r\n\r\n", out), 405);
    expect_text(out, "Allow: GET, HEAD\r\n");
    rejections++;
    /* Oversized: headers over 8 KiB (431), more than 100 of them (431), a
     * request line over the limit (414). */
    static char big[12000];
    int n = sprintf(big, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(big + n, 'a', 9000);
    n += 9000;
    n += sprintf(big + n, "\r\n\r\n");
    ck_assert_int_eq(exchange(s.port, big, (size_t)n, out, sizeof out), 431);
    n = sprintf(big, "GET / HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 101; i++)
        n += sprintf(big + n, "X-%d: y\r\n", i);
    n += sprintf(big + n, "\r\n");
    ck_assert_int_eq(exchange(s.port, big, (size_t)n, out, sizeof out), 431);
    n = sprintf(big, "GET /");
    memset(big + n, 'a', 9000);
    n += 9000;
    ck_assert_int_eq(exchange(s.port, big, (size_t)n, out, sizeof out), 414);
    rejections += 3;

    struct program_result r = serve_stop(&s, SIGTERM, 0);
    expect_text(r.out, "served 4 requests, rejected 15");  /* 14 and the 404 */
    ck_assert_int_eq(count_text(r.err, "server: worker "), rejections);
    ck_assert_int_eq(count_lines(r.err), rejections); /* one line each */
    expect_text(r.err, "431 Request Header Fields Too Large: headers over the size limit");
    expect_text(r.err, "414 URI Too Long");
    program_result_free(&r);
}
END_TEST

START_TEST(keep_alive_close_and_http_1_0)
{
    const char *extra[] = {"--workers", "1", "--threads", "2", NULL};
    struct live_server s = serve_start(extra);
    char out[4096] = "";
    /* HTTP/1.1: the connection stays open; two pipelined requests are
     * answered in order; Connection: close is honoured. */
    int fd = connect_to(s.port);
    const char two[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /work?cpu=7 HTTP/1.1\r\nHost: t\r\n\r\n";
    send_text(fd, two, sizeof two - 1);
    size_t have = 0;
    double until = clock_seconds() + 5 * time_scale();
    while (strstr(out, "counted to 7, waited 0 ms\n") == NULL && clock_seconds() < until) {
        struct pollfd wait = {.fd = fd, .events = POLLIN};
        if (poll(&wait, 1, 100) == 1) {
            ssize_t n = recv(fd, out + have, sizeof out - 1 - have, 0);
            ck_assert_int_gt(n, 0);
            have += (size_t)n;
        }
        out[have] = '\0';
    }
    ck_assert_int_eq(count_text(out, "HTTP/1.1 200 OK\r\n"), 2);
    ck_assert_msg(strstr(out, "Hello, world!\n") < strstr(out, "counted to 7"),
                  "answered out of order:\n%s", out);
    ck_assert_msg(strstr(out, "Connection:") == NULL, "%s", out);
    const char last[] = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    send_text(fd, last, sizeof last - 1);
    ck_assert_int_eq(read_response(fd, out, sizeof out, 5), 200);
    expect_text(out, "Connection: close\r\n");
    ck_assert(closed_by_server(fd, 2));
    close(fd);

    /* HTTP/1.0: closed after the answer (ab would wait forever otherwise)... */
    fd = connect_to(s.port);
    send_text(fd, "GET / HTTP/1.0\r\n\r\n", 18);
    ck_assert_int_eq(read_response(fd, out, sizeof out, 5), 200);
    expect_text(out, "Connection: close\r\n");
    ck_assert(closed_by_server(fd, 2));
    close(fd);
    /* ... unless it asked for keep-alive, which it is then told it got. */
    fd = connect_to(s.port);
    const char ka[] = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    for (int i = 0; i < 2; i++) {
        send_text(fd, ka, sizeof ka - 1);
        ck_assert_int_eq(read_response(fd, out, sizeof out, 5), 200);
        expect_text(out, "Connection: keep-alive\r\n");
    }
    close(fd);
    struct program_result r = serve_stop(&s, SIGTERM, 0);
    expect_text(r.out, "served 6 requests, rejected 0");
    expect_text(r.out, "on 3 connections");
    program_result_free(&r);
}
END_TEST

START_TEST(slow_sender_is_cut_off)
{
    const char *extra[] = {"--workers", "1", "--threads", "1", "--read-timeout",
                           "0.2", NULL};
    struct live_server s = serve_start(extra);
    char out[4096];
    int fd = connect_to(s.port);
    double started = clock_seconds();
    send_text(fd, "GET / HTTP/1.1\r\nHo", 18); /* ... and nothing more */
    ck_assert_int_eq(read_response(fd, out, sizeof out, 5), 408);
    double took = clock_seconds() - started;
    ck_assert_msg(took >= 0.15, "cut after %.3f s, before the 0.2 s timeout", took);
    ck_assert(closed_by_server(fd, 2));
    close(fd);
    /* Its only thread is free again. */
    ck_assert_int_eq(EXCHANGE(s.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", out), 200);
    struct program_result r = serve_stop(&s, SIGTERM, 0);
    expect_text(r.err, "408 Request Timeout: slow sender cut off by the read timeout");
    ck_assert_int_eq(count_lines(r.err), 1);
    program_result_free(&r);
}
END_TEST

/* ---- Processes: respawn, drain, signals ---------------------------------- */

START_TEST(killed_worker_is_respawned)
{
    const char *extra[] = {"--workers", "2", "--threads", "2", NULL};
    struct live_server s = serve_start(extra);
    char line[256];
    ck_assert(read_line(s.program.out_fd, line, sizeof line, 5)); /* master pid ... */
    pid_t workers[8];
    int count = 0;
    double until = clock_seconds() + 5 * time_scale();
    while ((count = children_of(s.program.pid, workers, 8)) < 2 &&
           clock_seconds() < until)
        clock_sleep(0.005);
    ck_assert_int_eq(count, 2);
    ck_assert_int_eq(kill(workers[0], SIGKILL), 0);
    ck_assert(read_line(s.program.out_fd, line, sizeof line, 5 * time_scale()));
    char expected[96];
    snprintf(expected, sizeof expected, "(pid %d) killed by signal 9 (Killed); "
                                        "respawned as pid ", (int)workers[0]);
    expect_text(line, expected);
    char out[4096];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(EXCHANGE(s.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", out), 200);
    struct program_result r = serve_stop(&s, SIGTERM, 0);
    expect_text(r.out, "1 worker respawned");
    program_result_free(&r);
}
END_TEST

START_TEST(sigterm_drains_every_accepted_request)
{
    const char *extra[] = {"--workers", "1", "--threads", "2", NULL};
    struct live_server s = serve_start(extra);
    char out[4096];
    int busy = connect_to(s.port), idle = connect_to(s.port);
    send_text(idle, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 27);
    ck_assert_int_eq(read_response(idle, out, sizeof out, 5), 200);
    const char slow[] = "GET /work?io_ms=300 HTTP/1.1\r\nHost: t\r\n\r\n";
    send_text(busy, slow, sizeof slow - 1);
    clock_sleep(0.05); /* the request is being served */
    ck_assert_int_eq(kill(s.program.pid, SIGTERM), 0);
    /* The request in progress is answered, told the connection closes,
     * then closed; the idle keep-alive connection is closed. */
    ck_assert_int_eq(read_response(busy, out, sizeof out, 5), 200);
    expect_text(out, "waited 300 ms");
    expect_text(out, "Connection: close\r\n");
    ck_assert(closed_by_server(busy, 2));
    ck_assert(closed_by_server(idle, 2));
    close(busy);
    close(idle);
    struct program_result r = program_finish(&s.program, 10 * time_scale());
    ck_assert_int_eq(orphans_adopted(), 0);
    ck_assert_int_eq(r.status, 0);
    expect_text(r.out, "master: SIGTERM: draining 1 worker");
    expect_text(r.out, "served 2 requests");
    program_result_free(&r);
}
END_TEST

START_TEST(second_sigint_kills_at_once)
{
    const char *extra[] = {"--workers", "2", "--threads", "1", NULL};
    struct live_server s = serve_start(extra);
    int busy = connect_to(s.port);
    const char slow[] = "GET /work?io_ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n";
    send_text(busy, slow, sizeof slow - 1);
    clock_sleep(0.05);
    /* Ctrl+C goes to the whole process group, as a terminal sends it. */
    ck_assert_int_eq(kill(-s.program.pid, SIGINT), 0);
    clock_sleep(0.1);
    double started = clock_seconds();
    struct program_result r = serve_stop(&s, SIGINT, 130);
    ck_assert_msg(clock_seconds() - started < 3 * time_scale(),
                  "the second Ctrl+C did not stop it at once");
    expect_text(r.err, "interrupted by INT");
    close(busy);
    program_result_free(&r);
}
END_TEST

/* ---- The client against the server --------------------------------------- */

START_TEST(client_counts_match_the_server)
{
    const char *extra[] = {"--workers", "2", "--threads", "4", NULL};
    struct live_server s = serve_start(extra);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s.port);
    const char *keep[] = {"server", "--client", "--url", url, "--clients", "4",
                          "--requests", "500", "--keep-alive", "--csv", NULL};
    struct program_result c = program_run(20 * time_scale(), keep);
    ck_assert_msg(c.status == 0, "client exit %d: %s", c.status, c.err);
    ck_assert_int_eq(count_lines(c.out), 2);
    expect_text(c.out, "clients,requests,seconds,p50_us,p90_us,p99_us,max_us,errors\n4,500,");
    ck_assert_msg(strstr(c.out, ",0\n") != NULL, "errors: %s", c.out);
    program_result_free(&c);
    const char *close_each[] = {"server", "--client", "--url", url, "--clients", "2",
                                "--requests", "100", NULL};
    c = program_run(20 * time_scale(), close_each);
    ck_assert_msg(c.status == 0, "client exit %d: %s", c.status, c.err);
    expect_text(c.out, "100 answered in");
    expect_text(c.out, "over 100 connections");
    expect_text(c.out, "errors 0");
    program_result_free(&c);
    struct program_result r = serve_stop(&s, SIGTERM, 0);
    expect_text(r.out, "served 600 requests, rejected 0");
    expect_text(r.out, "on 104 connections");
    program_result_free(&r);

    /* Nothing listening: every request an error, exit 1, still bounded. */
    const char *nobody[] = {"server", "--client", "--url", url, "--requests", "3",
                            "--csv", NULL};
    c = program_run(20 * time_scale(), nobody);
    ck_assert_int_eq(c.status, 1);
    ck_assert_msg(strstr(c.out, ",0,") != NULL && strstr(c.out, ",3\n") != NULL,
                  "%s", c.out);
    program_result_free(&c);
}
END_TEST

/* ---- The experiments ------------------------------------------------------ */

static struct program_result run_server(double timeout, int status,
                                        const char *const argv[])
{
    become_subreaper();
    struct program_result r = program_run(timeout * time_scale(), argv);
    int orphans = orphans_adopted();
    char command[512];
    describe(argv, command, sizeof command);
    ck_assert_msg(!r.timed_out, "%s: still running after %.0f s", command,
                  timeout * time_scale());
    ck_assert_msg(r.status == status, "%s: exit %d, expected %d; stderr: %s",
                  command, r.status, status, r.err);
    ck_assert_msg(orphans == 0, "%s: left %d process(es) behind", command, orphans);
    return r;
}

/* Every accept mode, threaded and as an event loop, serves every request,
 * and its count equals the client's (the experiment checks; exit 1 if not). */
static const struct {
    const char *mode, *threads;
} modes[] = {{"accept", "2"},          {"epoll", "2"},
             {"epoll-exclusive", "2"}, {"reuseport", "2"},
             {"epoll", "0"},           {"epoll-exclusive", "0"},
             {"reuseport", "0"}};

START_TEST(each_accept_mode_serves)
{
    const char *argv[] = {"server", "--experiment", "load", "--accept",
                          modes[_i].mode, "--threads", modes[_i].threads,
                          "--workers", "2", "--io-ms", "0", "--clients", "4",
                          "--requests", "300", "--repeat", "1", "--warmup", "0",
                          "--keep-alive", "--csv", NULL};
    struct program_result r = run_server(30, 0, argv);
    ck_assert_int_eq(count_lines(r.out), 2);
    char expected[128];
    snprintf(expected, sizeof expected, "\n2,%s,%s,0,0,1,4,300,", modes[_i].threads,
             modes[_i].mode);
    expect_text(r.out, expected);
    ck_assert_msg(strstr(r.out, ",0\n") != NULL, "errors: %s", r.out);
    program_result_free(&r);
}
END_TEST

START_TEST(herd_counts_are_plausible)
{
    const char *argv[] = {"server", "--experiment", "herd", "--workers", "4",
                          "--connections", "100", "--csv", NULL};
    struct program_result r = run_server(30, 0, argv);
    ck_assert_int_eq(count_lines(r.out), 1 + 4 * 4);
    unsigned long long connections[4] = {0}, wakeups[4] = {0}, failed[4] = {0};
    int busiest[4] = {0};
    const char *names[] = {"accept", "epoll", "epoll-exclusive", "reuseport"};
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char mode[32];
        int workers, worker;
        unsigned long long c, w, f;
        if (sscanf(line, "%31[^,],%d,%d,%llu,%llu,%llu", mode, &workers, &worker,
                   &c, &w, &f) != 6)
            continue;
        for (int m = 0; m < 4; m++)
            if (strcmp(mode, names[m]) == 0) {
                connections[m] += c;
                wakeups[m] += w;
                failed[m] += f;
                if ((int)c > busiest[m])
                    busiest[m] = (int)c;
            }
    }
    for (int m = 0; m < 4; m++)
        ck_assert_msg(connections[m] == 100, "%s: %llu connections", names[m],
                      connections[m]);
    /* Blocking accept wakes one sleeper per connection; so does reuseport;
     * neither ever returns for nothing. */
    ck_assert_msg(wakeups[0] <= 130, "accept: %llu wake-ups", wakeups[0]);
    ck_assert_int_eq(failed[0], 0);
    ck_assert_int_eq(failed[3], 0);
    ck_assert_msg(wakeups[3] <= 130, "reuseport: %llu wake-ups", wakeups[3]);
    /* Plain epoll wakes more than one waiter per connection: the herd. */
    ck_assert_msg(wakeups[1] >= 120, "epoll: only %llu wake-ups for 100 "
                                     "connections", wakeups[1]);
    program_result_free(&r);
}
END_TEST

START_TEST(kill_experiment_replaces_the_worker)
{
    const char *argv[] = {"server", "--experiment", "kill", "--repeat", "1",
                          "--requests", "1000", "--csv", NULL};
    struct program_result r = run_server(30, 0, argv);
    int trial, workers, threads, pid, held;
    double replaced_ms;
    unsigned long long errors, requests;
    const char *row = strchr(r.out, '\n');
    ck_assert_ptr_nonnull(row);
    ck_assert_int_eq(sscanf(row + 1, "%d,%d,%d,%d,%lf,%d,%llu,%llu", &trial, &workers,
                            &threads, &pid, &replaced_ms, &held, &errors,
                            &requests), 8);
    ck_assert(replaced_ms > 0);
    ck_assert_int_le((long long)errors, held);
    ck_assert_int_eq(errors + requests, 1000);
    program_result_free(&r);
}
END_TEST

START_TEST(cap_experiment_shows_the_thread_limit)
{
    const char *argv[] = {"server", "--experiment", "cap", NULL};
    struct program_result r = run_server(30, 0, argv);
    expect_text(r.out, "connection 9: no answer within 300 ms -- every thread holds");
    expect_text(r.out, "closed connection 1: connection 9 answered");
    expect_text(r.out, "connection 9: answered in");
    expect_text(r.out, "capped:");
    program_result_free(&r);
    /* Under load: 16 keep-alive clients, 8 threads in all.  The 8 beyond
     * wait for a thread until the others are done: detected and said; an
     * event loop serves all 16 at once. */
    for (int loop = 0; loop < 2; loop++) {
        const char *load[] = {"server", "--experiment", "load", "--workers", "2",
                              "--threads", loop ? "0" : "4", "--clients", "16",
                              "--keep-alive", "--io-ms", "1", "--requests", "1000",
                              "--repeat", "1", "--warmup", "0", NULL};
        r = run_server(30, 0, load);
        if (loop)
            ck_assert_msg(strstr(r.out, "capped") == NULL, "%s", r.out);
        else
            expect_text(r.out, "  capped: in 1 of 1 runs a request waited");
        program_result_free(&r);
    }
}
END_TEST

START_TEST(hostile_requests_get_the_right_status)
{
    const char *threads = _i == 0 ? "4" : "0";
    const char *argv[] = {"server", "--experiment", "hostile", "--requests", "300",
                          "--threads", threads, "--seed", "7", "--csv", NULL};
    struct program_result r = run_server(30, 0, argv);
    ck_assert_int_eq(count_lines(r.out), 13);
    expect_text(r.out, "random bytes,a 4xx,");
    expect_text(r.out, "a slow sender,408,6,6\n");
    program_result_free(&r);
}
END_TEST

/* ---- Bad command lines ---------------------------------------------------- */

static const struct bad_line bad_lines[] = {
    {{"--workers", "2"}, "exactly one of --serve"},
    {{"--serve", "--client", "--url", "http://127.0.0.1:1/"}, "exactly one of"},
    {{"--client"}, "--client: needs --url"},
    {{"--client", "--url", "ftp://x/"}, "--url"},
    {{"--client", "--url", "http://example.com/"}, "--url"},
    {{"--client", "--url", "http://127.0.0.1:99999/"}, "--url"},
    {{"--serve", "--url", "http://127.0.0.1:1/"}, "--url"},
    {{"--serve", "--threads", "0", "--accept", "accept"}, "--threads 0"},
    {{"--serve", "--accept", "select"}, "--accept"},
    {{"--serve", "--port", "70000"}, "--port"},
    {{"--serve", "--csv"}, "--csv"},
    {{"--experiment", "cap", "--csv"}, "--csv"},
    {{"--experiment", "fork"}, "--experiment"},
    {{"--serve", "--workers", "65"}, "--workers"},
};

START_TEST(bad_command_line_is_refused_with_exit_2)
{
    expect_usage_error("server", &bad_lines[_i]);
}
END_TEST

Suite *server_suite(void)
{
    Suite *suite = suite_create("server");
    TCase *serve = tcase_create("server_serve");
    tcase_set_timeout(serve, 60);
    tcase_add_checked_fixture(serve, default_signals, NULL);
    tcase_add_test(serve, every_route_and_status_code);
    tcase_add_test(serve, keep_alive_close_and_http_1_0);
    tcase_add_test(serve, slow_sender_is_cut_off);
    tcase_add_test(serve, killed_worker_is_respawned);
    tcase_add_test(serve, sigterm_drains_every_accepted_request);
    tcase_add_test(serve, second_sigint_kills_at_once);
    tcase_add_test(serve, client_counts_match_the_server);
    suite_add_tcase(suite, serve);

    TCase *experiments = tcase_create("server_experiments");
    tcase_set_timeout(experiments, 60);
    tcase_add_checked_fixture(experiments, default_signals, NULL);
    tcase_add_loop_test(experiments, each_accept_mode_serves, 0,
                        (int)(sizeof modes / sizeof *modes));
    tcase_add_test(experiments, herd_counts_are_plausible);
    tcase_add_test(experiments, kill_experiment_replaces_the_worker);
    tcase_add_test(experiments, cap_experiment_shows_the_thread_limit);
    tcase_add_loop_test(experiments, hostile_requests_get_the_right_status, 0, 2);
    suite_add_tcase(suite, experiments);

    TCase *usage = tcase_create("server_usage");
    tcase_set_timeout(usage, 30);
    tcase_add_loop_test(usage, bad_command_line_is_refused_with_exit_2, 0,
                        (int)(sizeof bad_lines / sizeof *bad_lines));
    suite_add_tcase(suite, usage);
    return suite;
}
