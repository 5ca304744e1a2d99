/* documents.c (lab 06): the documents' Manager program, line for line, and
 * the proxy gotcha (E11).
 *
 * The documents' program:
 *
 *     def f(d, l):
 *         d[1] = '1'
 *         d['2'] = 2
 *         d[0.25] = None
 *         l.reverse()
 *
 *     with Manager() as manager:
 *         d = manager.dict()
 *         l = manager.list(range(10))
 *         p = Process(target=f, args=(d, l)); p.start(); p.join()
 *         print(d)
 *         print(l)
 *
 * prints {1: '1', '2': 2, 0.25: None} and [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]:
 * the parent sees what the child did, although the two processes share no
 * memory.  Neither holds the dict: a third process, the manager's server,
 * does, and d and l are proxies -- an address and an object id.  Each
 * line of f() is one request to the server and one reply.
 */
#define _GNU_SOURCE
#include "share.h"

#include "checked.h"
#include "manager.h"
#include "proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every proxy call here must succeed: anything else is reported, and the
 * lab's check fails. */
static bool ok(enum manager_status status, const char *what)
{
    if (status == MANAGER_OK)
        return true;
    fprintf(stderr, "share: %s: %s (%s)\n", what, manager_status_name(status),
            manager_error_text());
    return false;
}

struct documents_args {
    struct manager_proxy d, l;
    const char *tcp;          /* the child connects over TCP, or NULL */
    unsigned char key[32];    /* the manager's key (CPython's authkey) */
    bool wrong_key;
};

/* The documents' f(d, l), in the child process. */
static int f(void *arg)
{
    struct documents_args *a = arg;
    struct manager *remote = NULL;
    if (a->tcp != NULL) {
        /* Another machine would know the address and the key, and the ids
         * of the objects: that is all a proxy is. */
        unsigned char key[32];
        memcpy(key, a->key, sizeof key);
        if (a->wrong_key)
            key[0] ^= 1; /* BUGGY ON PURPOSE: one bit off */
        remote = manager_connect(a->tcp, key, sizeof key);
        a->d = manager_proxy_at(remote, a->d.id, MANAGER_DICT);
        a->l = manager_proxy_at(remote, a->l.id, MANAGER_LIST);
        struct value one = value_int(1), text_one = value_string("1");
        enum manager_status status = manager_dict_set(&a->d, &one, &text_one);
        value_free(&text_one);
        if (a->wrong_key) {
            printf("  child  pid %d: d[1] = '1' over TCP with a wrong key: "
                   "%s\n  child: %s\n",
                   (int)getpid(), manager_status_name(status),
                   manager_error_text());
            manager_disconnect(remote);
            return status == MANAGER_AUTH_ERROR ? EXIT_OK : EXIT_WRONG;
        }
        printf("  child  pid %d: connected over TCP to %s, the key proven "
               "both ways\n",
               (int)getpid(), a->tcp);
        if (!ok(status, "d[1] = '1'")) {
            manager_disconnect(remote);
            return EXIT_WRONG;
        }
    }
    struct value one = value_int(1), text_one = value_string("1");
    struct value text_two = value_string("2"), two = value_int(2);
    struct value quarter = value_float(0.25), none = value_none();
    bool right = (remote != NULL || /* over TCP, d[1] is set above */
                  ok(manager_dict_set(&a->d, &one, &text_one), "d[1] = '1'")) &&
                 ok(manager_dict_set(&a->d, &text_two, &two), "d['2'] = 2") &&
                 ok(manager_dict_set(&a->d, &quarter, &none),
                    "d[0.25] = None") &&
                 ok(manager_list_reverse(&a->l), "l.reverse()");
    printf("  child  pid %d: d[1] = '1'; d['2'] = 2; d[0.25] = None; "
           "l.reverse()   (4 proxy calls)\n",
           (int)getpid());
    value_free(&text_one);
    value_free(&text_two);
    if (remote != NULL)
        manager_disconnect(remote);
    return right ? EXIT_OK : EXIT_WRONG;
}

static bool left_behind(const char *address, pid_t server)
{
    struct stat info;
    return stat(address, &info) == 0 || kill(server, 0) == 0;
}

int experiment_manager(const char *tcp, bool wrong_key)
{
    printf("share: E11 -- a manager process owns a dict and a list; a child "
           "changes them through proxies\n");
    struct documents_args a = {.wrong_key = wrong_key};
    struct manager *manager;
    char tcp_address[64] = "";
    if (tcp != NULL) {
        /* CPython's authkey: 32 random bytes, known to the processes that
         * may connect (here: inherited through fork). */
        if (getrandom(a.key, sizeof a.key, 0) != (ssize_t)sizeof a.key)
            die_at(__FILE__, __LINE__, "getrandom", errno);
        manager = manager_start_tcp(tcp, a.key, sizeof a.key);
        snprintf(tcp_address, sizeof tcp_address, "%s",
                 manager_tcp_address(manager));
        a.tcp = tcp_address;
    } else {
        manager = manager_start();
    }
    pid_t server = manager_pid(manager);
    char address[128];
    snprintf(address, sizeof address, "%s", manager_address(manager));
    printf("  manager pid %d: the server, listening on %s\n", (int)server,
           address);
    if (tcp != NULL)
        printf("  manager: and on tcp:%s; a TCP client must prove the key "
               "(32 random bytes),\n  and the server proves it back "
               "(HMAC-SHA256 challenges)\n",
               tcp_address);

    struct value range = value_list(0);
    for (int i = 0; i < 10; i++)
        value_list_append(&range, value_int(i));
    bool right = ok(manager_dict(manager, &a.d), "manager.dict()") &&
                 ok(manager_list(manager, &range, &a.l),
                    "manager.list(range(10))");
    value_free(&range);
    printf("  parent pid %d: d = manager.dict(); l = manager.list(range(10))\n",
           (int)getpid());

    struct proc p;
    if (right) {
        proc_start(&p, "f", f, &a);
        proc_join(&p, -1);
        right = p.exitcode == 0;
    }
    /* The parent's own proxies (the child's were rebuilt over TCP). */
    struct manager_proxy d = {.manager = manager, .id = a.d.id,
                              .kind = MANAGER_DICT};
    struct manager_proxy l = {.manager = manager, .id = a.l.id,
                              .kind = MANAGER_LIST};
    char d_text[256], l_text[256];
    right = right && ok(manager_format(&d, d_text, sizeof d_text), "print(d)") &&
            ok(manager_format(&l, l_text, sizeof l_text), "print(l)");
    if (right && wrong_key) {
        printf("  parent: print(d); print(l)\n%s\n%s\n", d_text, l_text);
        right = strcmp(d_text, "{}") == 0 &&
                strcmp(l_text, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]") == 0;
        printf("  %s\n", right ? "refused on both sides, nothing changed: "
                                 "CPython raises AuthenticationError"
                               : "WRONG: a wrong key changed something");
    } else if (right) {
        printf("  parent: print(d); print(l)\n%s\n%s\n", d_text, l_text);
        /* What CPython prints for the same program. */
        right = strcmp(d_text, "{1: '1', '2': 2, 0.25: None}") == 0 &&
                strcmp(l_text, "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]") == 0;
        printf("  %s\n", right ? "the parent sees every change the child "
                                 "made: what CPython prints"
                               : "WRONG: not what CPython prints");
    }
    bool stopped = manager_shutdown(manager);
    if (left_behind(address, server)) {
        printf("  WRONG: the manager left its process or socket behind\n");
        return EXIT_WRONG;
    }
    printf("  manager shut down%s: no server process, no socket file left\n",
           stopped ? "" : " (it had to be killed)");
    return right && stopped ? EXIT_OK : EXIT_WRONG;
}

/* ---- The proxy gotcha ----------------------------------------------------- */

struct copy_args {
    struct manager_proxy d;
    bool right;
};

static bool shows(const struct manager_proxy *d, const char *expected,
                  const char *who)
{
    struct value key = value_string("l"), got;
    char text[64] = "";
    bool right = ok(manager_dict_get(d, &key, &got), "d['l']");
    value_format(&got, text, sizeof text);
    printf("  %s d['l'] is %s\n", who, text);
    value_free(&key);
    value_free(&got);
    return right && strcmp(text, expected) == 0;
}

static int change_a_copy(void *arg)
{
    struct copy_args *a = arg;
    struct value key = value_string("l"), x;
    if (!ok(manager_dict_get(&a->d, &key, &x), "x = d['l']")) {
        value_free(&key);
        return EXIT_WRONG;
    }
    value_list_append(&x, value_int(3)); /* BUGGY ON PURPOSE: changes only our copy */
    char text[64];
    printf("  child:  x = d['l']; x.append(3)     -> x is %s\n",
           value_format(&x, text, sizeof text));
    bool right = shows(&a->d, "[0, 1, 2]", "child:  and yet");
    printf("          (x is a copy: the append never left this process)\n");
    /* EXERCISE 1: the fix: set the changed copy back through the proxy
     * (d['l'] = x, one call whose status goes through ok() into right) */
    right = right && ok(manager_dict_set(&a->d, &key, &x), "d['l'] = x");
    printf("  child:  d['l'] = x                  (the fix: set it back)\n");
    value_free(&key);
    value_free(&x);
    return right ? EXIT_OK : EXIT_WRONG;
}

int experiment_copy(void)
{
    printf("share: the proxy gotcha -- what a proxy returns is a copy\n");
    struct manager *manager = manager_start();
    struct copy_args a;
    struct value key = value_string("l");
    struct value list = value_list(3, value_int(0), value_int(1), value_int(2));
    bool right = ok(manager_dict(manager, &a.d), "manager.dict()") &&
                 ok(manager_dict_set(&a.d, &key, &list), "d['l'] = [0, 1, 2]");
    printf("  parent: d = manager.dict(); d['l'] = [0, 1, 2]\n");
    value_free(&key);
    value_free(&list);
    if (right) {
        struct proc child;
        proc_start(&child, "child", change_a_copy, &a);
        proc_join(&child, -1);
        right = child.exitcode == 0 &&
                shows(&a.d, "[0, 1, 2, 3]", "parent: after the child,");
    }
    printf("  %s\n", right ? "the manager's list changed only when the whole "
                             "list was set back"
                           : "WRONG: not what a proxy does");
    bool stopped = manager_shutdown(manager);
    return right && stopped ? EXIT_OK : EXIT_WRONG;
}
