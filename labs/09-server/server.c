/* server.c: a pre-fork HTTP/1.1 server -- "the nginx model" -- its own
 * load client, and the experiments that load-test it (E14).
 *
 * The documents describe the model behind nginx: a master process starts
 * as many worker processes as there are CPUs, and each worker uses threads
 * (or events) for the waits on the network and the disk.  This lab builds
 * that server and measures what each part of the model buys:
 *   - processes: one per core, so CPU work (/work?cpu=N) runs in parallel,
 *     and a worker that dies is only one worker (the master replaces it);
 *   - threads in each worker: while one thread waits (/work?io_ms=D, a real
 *     blocking read) another serves, so throughput grows with threads at
 *     io_ms > 0 and not at all at io_ms = 0;
 *   - how a connection reaches a worker (--accept): the thundering herd of
 *     a shared epoll, the imbalance of EPOLLEXCLUSIVE, the hash of
 *     SO_REUSEPORT, counted per worker;
 *   - the limit of a thread per connection: with keep-alive, W x T
 *     connections take every thread and the next client waits forever --
 *     which is why nginx's worker is one event loop (--threads 0).
 *
 * Modes:
 *   server --serve [--workers W --threads T --accept MODE --port P]
 *                              run until SIGTERM/SIGINT, then drain (serve.c)
 *   server --client --url http://127.0.0.1:PORT/ --clients C --requests N
 *                              the load client, against any HTTP/1.1 server
 *   server --experiment load|herd|kill|cap
 *                              start a server, drive it, stop it (experiment.c)
 * Files: http.c (parsing, responses), serve.c (master and workers),
 * client.c (the load client), experiment.c (the experiments).
 */
#define _GNU_SOURCE
#include "lab.h"

#include "checked.h"
#include "flags.h"
#include "proc.h"
#include "timing.h"
#include "watchdog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TSan refuses by default to let a forked child of a threaded process
 * start threads (die_after_fork), because a lock some other thread held at
 * fork() stays held in the child.  Here the master forks from its main
 * thread while the only other thread, the watchdog's, sleeps in poll() and
 * holds nothing, and each worker then starts its threads: exactly the
 * pre-fork model.  So this program tells TSan it may. */
#if defined(__SANITIZE_THREAD__)
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "die_after_fork=0"; }
#endif

static const char *const experiment_names[] = {"load", "herd", "kill", "cap",
                                               "hostile", NULL};
enum { EXP_LOAD, EXP_HERD, EXP_KILL, EXP_CAP, EXP_HOSTILE };

int main(int argc, char **argv)
{
    bool serve_mode = false, client_mode = false, csv = false, quiet = false,
         keep_alive = false;
    int experiment = EXP_LOAD, accept_mode = ACCEPT_BLOCKING;
    uint64_t workers = (uint64_t)proc_cpu_count(), threads = 8, port = 0,
             clients = 8, requests = 1000, repeat = 3, warmup = 1,
             io_ms = 0, cpu = 0, connections = 200, seed = 1;
    double timeout = 60, read_timeout = 5, idle_timeout = 5,
           request_timeout = 5;
    const char *url = NULL;
    if (workers > SERVER_MAX_WORKERS)
        workers = SERVER_MAX_WORKERS;
    struct flag flags[] = {
        {.name = "serve", .type = FLAG_SWITCH, .target = &serve_mode,
         .help = "run the server until SIGTERM or SIGINT, then drain and exit"},
        {.name = "client", .type = FLAG_SWITCH, .target = &client_mode,
         .help = "run the load client against --url"},
        {.name = "experiment", .type = FLAG_CHOICE, .target = &experiment,
         .choices = experiment_names, .value_name = "NAME",
         .help = "start a server, drive it, stop it (listed above)"},
        flag_workers(&workers, SERVER_MAX_WORKERS),
        {.name = "threads", .type = FLAG_COUNT, .target = &threads, .min = 0,
         .max = SERVER_MAX_THREADS, .value_name = "T",
         .help = "threads per worker, one per connection; 0 = one epoll "
                 "event loop per worker"},
        {.name = "accept", .type = FLAG_CHOICE, .target = &accept_mode,
         .choices = accept_mode_names, .value_name = "MODE",
         .help = "how workers take connections (see above)"},
        {.name = "port", .type = FLAG_COUNT, .target = &port, .min = 0,
         .max = 65535, .value_name = "P",
         .help = "the port on 127.0.0.1; 0 = any free one (printed)"},
        {.name = "read-timeout", .type = FLAG_DECIMAL, .target = &read_timeout,
         .low = 0.01, .high = 3600, .value_name = "S",
         .help = "a request must arrive whole within S s, or 408 and close"},
        {.name = "idle-timeout", .type = FLAG_DECIMAL, .target = &idle_timeout,
         .low = 0.01, .high = 3600, .value_name = "S",
         .help = "close a keep-alive connection idle for S s"},
        {.name = "quiet", .type = FLAG_SWITCH, .target = &quiet,
         .help = "no log line per rejected request (benchmarks)"},
        {.name = "url", .type = FLAG_TEXT, .target = &url, .value_name = "URL",
         .help = "client: http://HOST:PORT/PATH (HOST an IPv4 address)"},
        {.name = "clients", .type = FLAG_COUNT, .target = &clients, .min = 1,
         .max = 4096, .value_name = "C",
         .help = "client: connections at once, each a closed loop"},
        {.name = "requests", .type = FLAG_COUNT, .target = &requests, .min = 1,
         .max = 10000000, .value_name = "N",
         .help = "client: requests in all (per repetition)"},
        {.name = "keep-alive", .type = FLAG_SWITCH, .target = &keep_alive,
         .help = "client: reuse each connection (default: one per request)"},
        {.name = "request-timeout", .type = FLAG_DECIMAL,
         .target = &request_timeout, .low = 0.01, .high = 3600,
         .value_name = "S",
         .help = "client: a request not answered within S s is an error"},
        {.name = "io-ms", .type = FLAG_COUNT, .target = &io_ms, .min = 0,
         .max = HTTP_WORK_IO_MAX, .value_name = "D",
         .help = "experiments: each request waits D ms (GET /work?io_ms=D)"},
        {.name = "cpu", .type = FLAG_COUNT, .target = &cpu, .min = 0,
         .max = HTTP_WORK_CPU_MAX, .value_name = "N",
         .help = "experiments: each request counts to N (GET /work?cpu=N)"},
        {.name = "connections", .type = FLAG_COUNT, .target = &connections,
         .min = 1, .max = 100000, .value_name = "K",
         .help = "herd: connections opened one after another"},
        flag_seed(&seed),
        flag_repeat(&repeat),
        flag_warmup(&warmup),
        flag_timeout(&timeout),
        flag_csv(&csv),
        FLAG_END,
    };
    struct program program = {
        .name = "server",
        .synopsis = "a pre-fork HTTP/1.1 server (a master, W worker processes, "
                    "T threads each), its load client, and load tests (E14)",
        .description =
            "Modes (one of):\n"
            "  --serve        bind 127.0.0.1:--port, fork --workers W workers "
            "with\n"
            "                 --threads T each; the first line is 'listening "
            "on 127.0.0.1:PORT'.\n"
            "                 SIGTERM or Ctrl+C: drain (every request read is "
            "answered), exit 0;\n"
            "                 a second one kills everything (exit 128+N).  A "
            "dead worker is\n"
            "                 replaced.  Routes: GET / (a small fixed body), "
            "GET /work?cpu=N&io_ms=D.\n"
            "                 --timeout defaults to 3600 s here (exit 3 when "
            "it passes)\n"
            "  --client       --url URL --clients C --requests N "
            "[--keep-alive]: throughput and\n"
            "                 p50/p90/p99/max latency (CSV: " CLIENT_CSV_HEADER
            ")\n"
            "  --experiment   load  start a server (--workers, --threads, "
            "--accept, --io-ms,\n"
            "                       --cpu), drive it with --clients, stop it; "
            "CSV: workers,threads,\n"
            "                       accept,io_ms,cpu,keep_alive,clients,"
            "requests,seconds,rps,\n"
            "                       p50_us,p90_us,p99_us,max_us,errors\n"
            "                 herd  per --accept mode (or the one given): "
            "--connections K opened\n"
            "                       one by one; wake-ups per connection and "
            "connections per worker;\n"
            "                       CSV: accept,workers,worker,connections,"
            "wakeups,failed_accepts\n"
            "                 kill  SIGKILL a worker under load: how fast it is "
            "replaced, which\n"
            "                       requests fail; CSV: trial,workers,threads,"
            "killed_pid,replaced_ms,\n"
            "                       held,errors,requests\n"
            "                 cap   thread per connection with keep-alive: more "
            "clients than\n"
            "                       W x T threads starve; the same with "
            "--threads 0 does not\n"
            "                 hostile  --requests N malformed or hostile "
            "requests (default 5000,\n"
            "                       random bytes from --seed): each must get "
            "the status HTTP\n"
            "                       prescribes, no worker may die; CSV: kind,"
            "expected,sent,\n"
            "                       as_expected\n\n"
            "--accept MODE: accept (threads block in accept() on one socket), "
            "epoll (each\n"
            "  thread in epoll_wait on it: the thundering herd), "
            "epoll-exclusive (EPOLLEXCLUSIVE),\n"
            "  reuseport (one SO_REUSEPORT socket per worker).  --threads 0 "
            "needs an epoll mode\n"
            "  or reuseport (default there: epoll-exclusive).",
        .exit_notes = "  Exit 1: --client: a request was not answered with "
                      "2xx; an experiment: a check\n  failed (the server's counts "
                      "differ from the client's, a worker was not\n  replaced, "
                      "more requests failed than the killed worker held).",
        .flags = flags,
    };
    flags_parse_or_exit(&program, argc, argv);
    int modes = serve_mode + client_mode + flags_given(&program, "experiment");
    if (modes != 1)
        flags_usage_error(&program, "give exactly one of --serve, --client, "
                                    "--experiment");
    if (client_mode && url == NULL)
        flags_usage_error(&program, "--client: needs --url");
    if (!client_mode && url != NULL)
        flags_usage_error(&program, "--url: only with --client");
    if (threads == 0 && !flags_given(&program, "accept"))
        accept_mode = ACCEPT_EPOLL_EXCLUSIVE;
    if (threads == 0 && accept_mode == ACCEPT_BLOCKING)
        flags_usage_error(&program, "--threads 0: an event loop cannot block "
                                    "in accept(); use --accept epoll, "
                                    "epoll-exclusive or reuseport");
    if (csv && serve_mode)
        flags_usage_error(&program, "--csv: not with --serve");
    if (csv && !serve_mode && !client_mode && experiment == EXP_CAP)
        flags_usage_error(&program, "--csv: --experiment cap prints a "
                                    "narrative, not a table");
    struct client_config client = {.clients = (int)clients,
                                   .requests = requests,
                                   .keep_alive = keep_alive,
                                   .request_timeout = request_timeout};
    if (client_mode) {
        char why[256];
        if (!client_parse_url(url, &client, why, sizeof why))
            flags_usage_error(&program, "--url: %s", why);
    }
    /* A server runs until it is told to stop; the watchdog still bounds it
     * (its --timeout ends it with exit 3), so give a long one by default. */
    if (serve_mode && !flags_given(&program, "timeout"))
        timeout = 3600;
    if (!csv)
        setvbuf(stdout, NULL, _IOLBF, 0);

    watchdog_start(program.name, timeout);
    int status = EXIT_OK;
    if (serve_mode) {
        struct server_config config = {
            .workers = (int)workers, .threads = (int)threads,
            .accept_mode = accept_mode, .port = (int)port,
            .read_timeout = read_timeout, .idle_timeout = idle_timeout,
            .quiet = quiet, .ready_fd = -1};
        status = serve(&config, server_shared_create());
    } else if (client_mode) {
        /* One measured run unless asked for more: a person reads it. */
        if (!flags_given(&program, "repeat"))
            repeat = 1;
        if (!flags_given(&program, "warmup"))
            warmup = 0;
        if (csv)
            printf("%s\n", CLIENT_CSV_HEADER);
        for (uint64_t i = 0; i < warmup + repeat; i++) {
            struct client_result r = client_run(&client);
            if (i < warmup)
                continue;
            if (csv)
                client_print_csv_row(&client, &r);
            else
                client_print_result(&client, &r);
            if (r.errors > 0)
                status = EXIT_WRONG; /* not every request was answered */
        }
    } else {
        struct experiment_options o = {
            .workers = flags_given(&program, "workers") ? (int)workers : 0,
            .threads = flags_given(&program, "threads") ? (int)threads : -1,
            .accept_mode = flags_given(&program, "accept") ? accept_mode : -1,
            .clients = flags_given(&program, "clients") ? (int)clients : 0,
            .requests = flags_given(&program, "requests") ? requests : 0,
            .io_ms = flags_given(&program, "io-ms") ? (int)io_ms : -1,
            .cpu = cpu,
            .keep_alive = keep_alive,
            .csv = csv,
            .repeat = (int)repeat,
            .warmup = (int)warmup,
            .connections = (int)connections,
            .seed = seed,
        };
        switch (experiment) {
        case EXP_LOAD: status = experiment_load(&o); break;
        case EXP_HERD: status = experiment_herd(&o); break;
        case EXP_KILL: status = experiment_kill(&o); break;
        case EXP_CAP: status = experiment_cap(&o); break;
        case EXP_HOSTILE: status = experiment_hostile(&o); break;
        }
    }
    watchdog_stop();
    return status;
}
