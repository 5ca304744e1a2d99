/* test_manager.c: unit tests of common/manager (the Manager server and its
 * proxies) and of the channel's floats it relies on.
 *
 * Every proxy method and its Python errors; 10,000 calls from several
 * client processes with exact results; what happens when the manager is
 * killed (every call fails at once, even one already waiting), when a
 * client is killed in the middle of a call, when a peer sends a malformed
 * or oversized frame (logged, that connection closed, the server goes on);
 * and that shutdown leaves no process, no socket and no directory.
 * Each test runs in Check's own child process, which becomes the parent of
 * the manager.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "channel.h"
#include "manager.h"
#include "proc.h"
#include "timing.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXPECT_OK(call)                                                        \
    do {                                                                       \
        enum manager_status expect_ok_ = (call);                               \
        ck_assert_msg(expect_ok_ == MANAGER_OK, "%s: %s (%s)", #call,          \
                      manager_status_name(expect_ok_), manager_error_text());  \
    } while (0)

static const char *text_of(const struct value *value)
{
    static char text[512];
    return value_format(value, text, sizeof text);
}

/* ---- Floats in the channel's values ---------------------------------------- */

START_TEST(floats_encode_and_print_as_python)
{
    const struct {
        double real;
        const char *python;
    } cases[] = {{0.25, "0.25"},        {1.0, "1.0"},     {0.1, "0.1"},
                 {-2.5, "-2.5"},        {1e16, "1e+16"},  {1e-5, "1e-05"},
                 {1e15, "1000000000000000.0"},            {0.0001, "0.0001"},
                 {3.141592653589793, "3.141592653589793"}, {5e-324, "5e-324"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct value value = value_float(cases[i].real), back;
        ck_assert_str_eq(text_of(&value), cases[i].python);
        unsigned char wire[16];
        size_t size = value_encode(&value, wire, sizeof wire);
        ck_assert_uint_eq(size, 9);
        ck_assert(value_decode(wire, size, &back));
        ck_assert(value_equal(&value, &back));
    }
    unsigned char short_float[] = {'F', 1, 2, 3};
    struct value out;
    ck_assert(!value_decode(short_float, sizeof short_float, &out));
}
END_TEST

/* ---- Every proxy method ----------------------------------------------------- */

START_TEST(dict_methods_behave_as_python)
{
    struct manager *manager = manager_start();
    struct manager_proxy d;
    EXPECT_OK(manager_dict(manager, &d));
    struct value one = value_int(1), one_float = value_float(1.0),
                 key = value_string("k"), text = value_string("v"),
                 list = value_list(2, value_int(1), value_none()), got;
    EXPECT_OK(manager_dict_set(&d, &one, &text));
    EXPECT_OK(manager_dict_set(&d, &key, &list));
    EXPECT_OK(manager_dict_get(&d, &one_float, &got)); /* 1.0 == 1 */
    ck_assert_str_eq(text_of(&got), "'v'");
    value_free(&got);
    EXPECT_OK(manager_dict_get(&d, &key, &got));
    ck_assert_str_eq(text_of(&got), "[1, None]");
    value_free(&got);
    size_t length = 0;
    EXPECT_OK(manager_dict_len(&d, &length));
    ck_assert_uint_eq(length, 2);
    EXPECT_OK(manager_dict_keys(&d, &got));
    ck_assert_str_eq(text_of(&got), "[1, 'k']");
    value_free(&got);
    char printed[128];
    EXPECT_OK(manager_format(&d, printed, sizeof printed));
    ck_assert_str_eq(printed, "{1: 'v', 'k': [1, None]}");

    EXPECT_OK(manager_dict_delete(&d, &one));
    ck_assert_int_eq(manager_dict_get(&d, &one, &got), MANAGER_KEY_ERROR);
    ck_assert_str_eq(manager_error_text(), "KeyError: 1");
    ck_assert_int_eq(manager_dict_delete(&d, &one), MANAGER_KEY_ERROR);
    ck_assert_int_eq(manager_dict_set(&d, &list, &one), MANAGER_TYPE_ERROR);
    ck_assert_str_eq(manager_error_text(), "TypeError: unhashable type: 'list'");
    EXPECT_OK(manager_dict_len(&d, &length)); /* the connection still works */
    ck_assert_uint_eq(length, 1);
    /* A dict proxy is not a list. */
    ck_assert_int_eq(manager_list_reverse(&d), MANAGER_TYPE_ERROR);
    value_free(&key);
    value_free(&text);
    value_free(&list);
    ck_assert(manager_shutdown(manager));
}
END_TEST

START_TEST(list_methods_behave_as_python)
{
    struct manager *manager = manager_start();
    struct value range = value_list(3, value_int(0), value_int(1), value_int(2));
    struct manager_proxy l;
    EXPECT_OK(manager_list(manager, &range, &l));
    struct value word = value_string("x"), got;
    EXPECT_OK(manager_list_append(&l, &word));
    size_t length = 0;
    EXPECT_OK(manager_list_len(&l, &length));
    ck_assert_uint_eq(length, 4);
    EXPECT_OK(manager_list_get(&l, -1, &got));
    ck_assert_str_eq(text_of(&got), "'x'");
    value_free(&got);
    struct value quarter = value_float(0.25);
    EXPECT_OK(manager_list_set(&l, 0, &quarter));
    EXPECT_OK(manager_list_reverse(&l));
    EXPECT_OK(manager_copy(&l, &got));
    ck_assert_str_eq(text_of(&got), "['x', 2, 1, 0.25]");
    value_free(&got);
    ck_assert_int_eq(manager_list_get(&l, 4, &got), MANAGER_INDEX_ERROR);
    ck_assert_str_eq(manager_error_text(), "IndexError: list index out of range");
    ck_assert_int_eq(manager_list_set(&l, -5, &quarter), MANAGER_INDEX_ERROR);
    ck_assert_int_eq(manager_dict_len(&l, &length), MANAGER_TYPE_ERROR);
    char printed[64];
    EXPECT_OK(manager_format(&l, printed, sizeof printed));
    ck_assert_str_eq(printed, "['x', 2, 1, 0.25]");
    value_free(&range);
    value_free(&word);
    ck_assert(manager_shutdown(manager));
}
END_TEST

/* ---- 10,000 calls from several clients --------------------------------------- */

enum { CLIENTS = 4, CALLS_EACH = 2500 };

struct clients_args {
    struct manager_proxy list, dict;
    int index;
};

static int append_many(void *arg)
{
    struct clients_args *a = arg;
    for (int k = 0; k < CALLS_EACH; k++) {
        struct value item = value_int(a->index * 1000000 + k);
        if (manager_list_append(&a->list, &item) != MANAGER_OK)
            return 1;
    }
    struct value key = value_int(a->index), done = value_int(CALLS_EACH);
    return manager_dict_set(&a->dict, &key, &done) == MANAGER_OK ? 0 : 1;
}

START_TEST(ten_thousand_calls_from_several_clients_are_exact)
{
    struct manager *manager = manager_start();
    struct clients_args a[CLIENTS];
    struct manager_proxy list, dict;
    EXPECT_OK(manager_list(manager, NULL, &list));
    EXPECT_OK(manager_dict(manager, &dict));
    struct proc clients[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        a[i] = (struct clients_args){.list = list, .dict = dict, .index = i};
        proc_start(&clients[i], "client", append_many, &a[i]);
    }
    for (int i = 0; i < CLIENTS; i++) {
        ck_assert(proc_join(&clients[i], 30 * time_scale()));
        ck_assert_int_eq(clients[i].exitcode, 0);
    }
    struct value items;
    EXPECT_OK(manager_copy(&list, &items));
    ck_assert_uint_eq(items.list.count, CLIENTS * CALLS_EACH);
    /* Each client's appends all there, once each, in its own order. */
    int next[CLIENTS] = {0};
    for (size_t i = 0; i < items.list.count; i++) {
        int64_t item = items.list.items[i].integer;
        int client = (int)(item / 1000000), k = (int)(item % 1000000);
        ck_assert(client >= 0 && client < CLIENTS);
        ck_assert_int_eq(k, next[client]);
        next[client]++;
    }
    value_free(&items);
    size_t keys = 0;
    EXPECT_OK(manager_dict_len(&dict, &keys));
    ck_assert_uint_eq(keys, CLIENTS);
    ck_assert(manager_shutdown(manager));
}
END_TEST

START_TEST(connect_per_call_gives_the_same_results)
{
    struct manager *manager = manager_start();
    manager_set_connect_per_call(manager, true);
    struct manager_proxy d;
    EXPECT_OK(manager_dict(manager, &d));
    for (int i = 0; i < 50; i++) {
        struct value key = value_int(i % 5), value = value_int(i);
        EXPECT_OK(manager_dict_set(&d, &key, &value));
    }
    char printed[128];
    EXPECT_OK(manager_format(&d, printed, sizeof printed));
    ck_assert_str_eq(printed, "{0: 45, 1: 46, 2: 47, 3: 48, 4: 49}");
    ck_assert(manager_shutdown(manager));
}
END_TEST

/* ---- Failures ----------------------------------------------------------------- */

struct waiting_call {
    struct manager_proxy d;
    enum manager_status status;
    double seconds;
};

static void *call_and_wait(void *arg)
{
    struct waiting_call *w = arg;
    size_t length;
    double start = clock_seconds();
    w->status = manager_dict_len(&w->d, &length);
    w->seconds = clock_seconds() - start;
    return NULL;
}

START_TEST(a_killed_manager_fails_every_call_at_once)
{
    struct manager *manager = manager_start();
    struct waiting_call w = {0};
    EXPECT_OK(manager_dict(manager, &w.d));
    pid_t server = manager_pid(manager);
    /* A call already waiting for its reply when the server dies: stop the
     * server, start the call, kill the server. */
    ck_assert_int_eq(kill(server, SIGSTOP), 0);
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, call_and_wait, &w), 0);
    clock_sleep(0.05);
    ck_assert_int_eq(kill(server, SIGKILL), 0);
    double killed = clock_seconds();
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_int_eq(w.status, MANAGER_GONE);
    ck_assert_msg(clock_seconds() - killed < 2 * time_scale(),
                  "the waiting call took %.2f s after the kill",
                  clock_seconds() - killed);
    /* And every call after it, from this thread too: no one listens. */
    size_t length;
    double start = clock_seconds();
    ck_assert_int_eq(manager_dict_len(&w.d, &length), MANAGER_GONE);
    ck_assert_int_eq(manager_dict_len(&w.d, &length), MANAGER_GONE);
    ck_assert(clock_seconds() - start < 1 * time_scale());
    ck_assert_msg(strstr(manager_error_text(), "gone") != NULL, "%s",
                  manager_error_text());
    char address[200];
    snprintf(address, sizeof address, "%s", manager_address(manager));
    ck_assert(!manager_shutdown(manager)); /* it did not stop: it was dead */
    struct stat info;
    ck_assert_int_eq(stat(address, &info), -1);
}
END_TEST

static int stop_in_the_middle_of_a_frame(void *arg)
{
    struct manager *manager = arg;
    int fd = manager_connect_raw(manager);
    struct channel_frame_header header = {.length = 100,
                                          .kind = CHANNEL_FRAME_VALUE};
    if (fd < 0 || write(fd, &header, sizeof header) != sizeof header ||
        write(fd, "L\3\0\0\0I", 6) != 6)
        return 1;
    pause(); /* killed here, half a request sent */
    return 0;
}

static int wait_for_a_reply(void *arg)
{
    struct manager_proxy *d = arg;
    size_t length;
    manager_dict_len(d, &length); /* killed while waiting */
    return 0;
}

START_TEST(a_killed_client_leaves_the_server_and_others_going)
{
    struct manager *manager = manager_start();
    struct manager_proxy d;
    EXPECT_OK(manager_dict(manager, &d));
    /* One client killed with half a request sent. */
    struct proc half;
    proc_start(&half, "half", stop_in_the_middle_of_a_frame, manager);
    clock_sleep(0.05);
    proc_signal(&half, SIGKILL);
    proc_join(&half, -1);
    /* One killed while the server works on its request (the server is
     * stopped, so the reply goes to a dead client). */
    ck_assert_int_eq(kill(manager_pid(manager), SIGSTOP), 0);
    struct proc waiting;
    proc_start(&waiting, "waiting", wait_for_a_reply, &d);
    clock_sleep(0.05);
    proc_signal(&waiting, SIGKILL);
    proc_join(&waiting, -1);
    ck_assert_int_eq(kill(manager_pid(manager), SIGCONT), 0);
    /* The server and this client go on. */
    struct value key = value_int(7), value = value_int(8), got;
    EXPECT_OK(manager_dict_set(&d, &key, &value));
    EXPECT_OK(manager_dict_get(&d, &key, &got));
    ck_assert_int_eq(got.integer, 8);
    ck_assert(manager_shutdown(manager));
}
END_TEST

/* Send `bytes` on a raw connection; true if the server then closed it. */
static bool closes_after(struct manager *manager, const void *bytes,
                         size_t size)
{
    int fd = manager_connect_raw(manager);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, bytes, size), (ssize_t)size);
    char reply[64];
    struct timeval bound = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
    ssize_t got = read(fd, reply, sizeof reply);
    close(fd);
    return got == 0;
}

START_TEST(bad_frames_close_that_connection_and_are_logged)
{
    /* The server's stderr is ours: catch it in a memory file. */
    int log = memory_file("manager-log");
    int saved = dup(STDERR_FILENO);
    ck_assert_int_eq(dup2(log, STDERR_FILENO), STDERR_FILENO);
    struct manager *manager = manager_start();
    ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    struct manager_proxy d;
    EXPECT_OK(manager_dict(manager, &d));

    struct channel_frame_header wrong_kind = {.length = 1, .kind = 0x12345678};
    unsigned char bad_kind[sizeof wrong_kind + 1];
    memcpy(bad_kind, &wrong_kind, sizeof wrong_kind);
    bad_kind[sizeof wrong_kind] = 'N';
    ck_assert(closes_after(manager, bad_kind, sizeof bad_kind));

    struct channel_frame_header huge = {.length = (uint32_t)MANAGER_FRAME_MAX + 1,
                                        .kind = CHANNEL_FRAME_VALUE};
    ck_assert(closes_after(manager, &huge, sizeof huge));

    struct channel_frame_header garbage = {.length = 3,
                                           .kind = CHANNEL_FRAME_VALUE};
    unsigned char bad_value[sizeof garbage + 3];
    memcpy(bad_value, &garbage, sizeof garbage);
    memcpy(bad_value + sizeof garbage, "Zzz", 3);
    ck_assert(closes_after(manager, bad_value, sizeof bad_value));

    /* A valid value that is not a request: None. */
    struct channel_frame_header none = {.length = 1,
                                        .kind = CHANNEL_FRAME_VALUE};
    unsigned char not_request[sizeof none + 1];
    memcpy(not_request, &none, sizeof none);
    not_request[sizeof none] = 'N';
    ck_assert(closes_after(manager, not_request, sizeof not_request));

    /* The server goes on. */
    size_t length = 1;
    EXPECT_OK(manager_dict_len(&d, &length));
    ck_assert_uint_eq(length, 0);
    ck_assert(manager_shutdown(manager));
    char text[4096];
    read_all(log, text, sizeof text);
    ck_assert_msg(strstr(text, "malformed frame; connection closed") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "larger than MANAGER_FRAME_MAX") != NULL, "%s",
                  text);
    ck_assert_msg(strstr(text, "not a request") != NULL, "%s", text);
    ck_assert_int_eq(count_lines(text), 4);
}
END_TEST

START_TEST(shutdown_leaves_no_process_socket_or_directory)
{
    struct manager *manager = manager_start();
    pid_t server = manager_pid(manager);
    char address[200], directory[200];
    snprintf(address, sizeof address, "%s", manager_address(manager));
    snprintf(directory, sizeof directory, "%s", address);
    dirname(directory);
    struct stat info;
    ck_assert_int_eq(stat(directory, &info), 0);
    ck_assert_int_eq(info.st_mode & 0777, 0700);
    ck_assert_int_eq(stat(address, &info), 0);
    ck_assert(S_ISSOCK(info.st_mode));
    struct manager_proxy d;
    EXPECT_OK(manager_dict(manager, &d));
    ck_assert(manager_shutdown(manager));
    ck_assert_int_eq(kill(server, 0), -1);
    ck_assert_int_eq(errno, ESRCH); /* gone and reaped, not a zombie */
    ck_assert_int_eq(stat(address, &info), -1);
    ck_assert_int_eq(stat(directory, &info), -1);
    ck_assert_int_eq(proc_active_count(), 0);
}
END_TEST

/* ---- TCP, the key proven both ways -------------------------------------------- */

static const unsigned char right_key[32] = "the key shared by every process";
static const unsigned char wrong_key[32] = "not the key at all, but as long";

struct remote_args {
    char address[64];
    const unsigned char *key;
    int64_t dict_id;
};

/* A client that knows only the address, the key and an object id. */
static int remote_client(void *arg)
{
    struct remote_args *a = arg;
    struct manager *remote = manager_connect(a->address, a->key, 32);
    struct manager_proxy d = manager_proxy_at(remote, a->dict_id, MANAGER_DICT);
    struct value key = value_string("over tcp"), value = value_float(2.5);
    enum manager_status status = manager_dict_set(&d, &key, &value);
    value_free(&key);
    /* Refused by the server: the client is told so, in those words. */
    bool told = status == MANAGER_AUTH_ERROR &&
                strstr(manager_error_text(), "refused our answer to its "
                                             "challenge: a different key") !=
                    NULL;
    manager_disconnect(remote);
    return status == MANAGER_OK ? 0 : told ? 7 : 1;
}

static struct manager *start_logged(int *log, const char *tcp)
{
    *log = memory_file("manager-log");
    int saved = dup(STDERR_FILENO);
    ck_assert_int_eq(dup2(*log, STDERR_FILENO), STDERR_FILENO);
    struct manager *manager = manager_start_tcp(tcp, right_key, 32);
    ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    return manager;
}

START_TEST(tcp_with_the_key_works_and_a_wrong_key_is_refused_by_the_server)
{
    int log;
    struct manager *manager = start_logged(&log, "127.0.0.1:0");
    const char *address = manager_tcp_address(manager);
    ck_assert_ptr_nonnull(address);
    ck_assert_msg(strncmp(address, "127.0.0.1:", 10) == 0 &&
                      atoi(address + 10) > 0,
                  "%s", address);
    struct manager_proxy d;
    EXPECT_OK(manager_dict(manager, &d));
    struct remote_args a = {.key = right_key, .dict_id = d.id};
    snprintf(a.address, sizeof a.address, "%s", address);

    struct proc child;
    proc_start(&child, "remote", remote_client, &a);
    ck_assert(proc_join(&child, 10 * time_scale()));
    ck_assert_int_eq(child.exitcode, 0);
    char printed[128];
    EXPECT_OK(manager_format(&d, printed, sizeof printed));
    ck_assert_str_eq(printed, "{'over tcp': 2.5}");

    a.key = wrong_key;
    proc_start(&child, "intruder", remote_client, &a);
    ck_assert(proc_join(&child, 10 * time_scale()));
    ck_assert_int_eq(child.exitcode, 7); /* MANAGER_AUTH_ERROR */
    size_t length = 0;
    EXPECT_OK(manager_dict_len(&d, &length)); /* unchanged, still serving */
    ck_assert_uint_eq(length, 1);
    ck_assert(manager_shutdown(manager));
    char text[4096];
    read_all(log, text, sizeof text);
    ck_assert_msg(strstr(text, "manager: TCP connection from 127.0.0.1:") !=
                          NULL &&
                      strstr(text, "refused: its answer to our challenge was "
                                   "wrong: it does not hold our key") != NULL,
                  "%s", text);
    ck_assert_int_eq(count_lines(text), 1);
}
END_TEST

/* Frames by hand, for an impostor server. */
static void send_string(int fd, const void *bytes, size_t length)
{
    unsigned char frame[256];
    struct channel_frame_header header = {.length = (uint32_t)(5 + length),
                                          .kind = CHANNEL_FRAME_VALUE};
    uint32_t count = (uint32_t)length;
    memcpy(frame, &header, sizeof header);
    frame[sizeof header] = 'S';
    memcpy(frame + sizeof header + 1, &count, 4);
    memcpy(frame + sizeof header + 5, bytes, length);
    ck_assert_int_eq(write(fd, frame, sizeof header + 5 + length),
                     (ssize_t)(sizeof header + 5 + length));
}

static size_t read_frame(int fd, unsigned char *payload, size_t size)
{
    struct channel_frame_header header;
    ck_assert_int_eq(recv(fd, &header, sizeof header, MSG_WAITALL),
                     sizeof header);
    ck_assert_uint_le(header.length, size);
    ck_assert_int_eq(recv(fd, payload, header.length, MSG_WAITALL),
                     (ssize_t)header.length);
    return header.length;
}

struct impostor {
    int listener;
};

/* Plays a server that does not hold the key: it challenges, lies that the
 * answer was right, then answers the client's challenge with garbage. */
static void *play_impostor(void *arg)
{
    struct impostor *impostor = arg;
    int fd = accept(impostor->listener, NULL, NULL);
    unsigned char payload[256], challenge[43] = "#CHALLENGE#";
    memset(challenge + 11, 7, 32);
    send_string(fd, challenge, sizeof challenge);
    read_frame(fd, payload, sizeof payload); /* the client's answer */
    send_string(fd, "#WELCOME#", 9);         /* a lie */
    read_frame(fd, payload, sizeof payload); /* the client's challenge */
    unsigned char garbage[32] = {0};
    send_string(fd, garbage, sizeof garbage);
    size_t got = read_frame(fd, payload, sizeof payload);
    /* The client says failure: 'S', 9, "#FAILURE#". */
    bool failure = got == 14 && memcmp(payload + 5, "#FAILURE#", 9) == 0;
    close(fd);
    return failure ? (void *)1 : NULL;
}

START_TEST(a_server_without_the_key_is_refused_by_the_client)
{
    struct impostor impostor;
    impostor.listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in where = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(impostor.listener, (struct sockaddr *)&where,
                          sizeof where), 0);
    ck_assert_int_eq(listen(impostor.listener, 4), 0);
    socklen_t size = sizeof where;
    getsockname(impostor.listener, (struct sockaddr *)&where, &size);
    char address[64];
    snprintf(address, sizeof address, "127.0.0.1:%d", ntohs(where.sin_port));
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, play_impostor, &impostor), 0);

    struct manager *remote = manager_connect(address, right_key, 32);
    struct manager_proxy d = manager_proxy_at(remote, 1, MANAGER_DICT);
    size_t length;
    ck_assert_int_eq(manager_dict_len(&d, &length), MANAGER_AUTH_ERROR);
    ck_assert_msg(strstr(manager_error_text(), "its answer to our challenge "
                                               "was wrong") != NULL,
                  "%s", manager_error_text());
    void *said_failure = NULL;
    ck_assert_int_eq(pthread_join(thread, &said_failure), 0);
    ck_assert_msg(said_failure != NULL, "the client did not say #FAILURE#");
    manager_disconnect(remote);
    close(impostor.listener);
}
END_TEST

START_TEST(no_manager_at_a_tcp_address_is_gone_at_once)
{
    /* A port nobody listens on: bind one, note it, close it. */
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in where = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(probe, (struct sockaddr *)&where, sizeof where);
    socklen_t size = sizeof where;
    getsockname(probe, (struct sockaddr *)&where, &size);
    close(probe);
    char address[64];
    snprintf(address, sizeof address, "127.0.0.1:%d", ntohs(where.sin_port));
    struct manager *remote = manager_connect(address, right_key, 32);
    struct manager_proxy d = manager_proxy_at(remote, 1, MANAGER_DICT);
    size_t length;
    double start = clock_seconds();
    ck_assert_int_eq(manager_dict_len(&d, &length), MANAGER_GONE);
    ck_assert(clock_seconds() - start < time_scale());
    manager_disconnect(remote);
}
END_TEST

Suite *manager_suite(void)
{
    Suite *suite = suite_create("manager");
    TCase *methods = tcase_create("manager_methods");
    tcase_set_timeout(methods, 30);
    tcase_add_checked_fixture(methods, default_signals, NULL);
    tcase_add_test(methods, floats_encode_and_print_as_python);
    tcase_add_test(methods, dict_methods_behave_as_python);
    tcase_add_test(methods, list_methods_behave_as_python);
    tcase_add_test(methods, ten_thousand_calls_from_several_clients_are_exact);
    tcase_add_test(methods, connect_per_call_gives_the_same_results);
    suite_add_tcase(suite, methods);

    TCase *failures = tcase_create("manager_failures");
    tcase_set_timeout(failures, 30);
    tcase_add_checked_fixture(failures, default_signals, NULL);
    tcase_add_test(failures, a_killed_manager_fails_every_call_at_once);
    tcase_add_test(failures, a_killed_client_leaves_the_server_and_others_going);
    tcase_add_test(failures, bad_frames_close_that_connection_and_are_logged);
    tcase_add_test(failures, shutdown_leaves_no_process_socket_or_directory);
    suite_add_tcase(suite, failures);

    TCase *tcp = tcase_create("manager_tcp");
    tcase_set_timeout(tcp, 30);
    tcase_add_checked_fixture(tcp, default_signals, NULL);
    tcase_add_test(tcp,
                   tcp_with_the_key_works_and_a_wrong_key_is_refused_by_the_server);
    tcase_add_test(tcp, a_server_without_the_key_is_refused_by_the_client);
    tcase_add_test(tcp, no_manager_at_a_tcp_address_is_gone_at_once);
    suite_add_tcase(suite, tcp);
    return suite;
}
