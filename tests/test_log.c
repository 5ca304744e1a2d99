/* test_log.c: log lines that say who printed them (common/log.h).
 *
 * stdout is redirected to a temporary file for the length of each test, and
 * the lines are parsed back: "[pid P NAME tid T] message".
 */
#define _GNU_SOURCE
#include "harness.h"

#include "log.h"
#include "proc.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- Capturing stdout ------------------------------------------------------- */

static int saved_stdout = -1;

static void capture_begin(void)
{
    int fd = memory_file("stdout");
    fflush(stdout);
    saved_stdout = dup(STDOUT_FILENO);
    ck_assert_int_ge(saved_stdout, 0);
    ck_assert_int_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
    close(fd);
}

/* What reached the file so far, without flushing stdout first. */
static char *captured(void)
{
    static char text[1 << 20];
    ssize_t n = pread(STDOUT_FILENO, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

static char *capture_end(void)
{
    fflush(stdout);
    char *text = captured();
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
    saved_stdout = -1;
    return text;
}

struct parsed {
    int pid, tid;
    char name[64];
    const char *message; /* points into the line */
    int message_length;
};

/* Parse one line "[pid P NAME tid T] message" (without its newline). */
static bool parse_line(const char *line, int length, struct parsed *out)
{
    int consumed = 0;
    if (sscanf(line, "[pid %d %63s tid %d] %n", &out->pid, out->name,
               &out->tid, &consumed) != 3 || consumed == 0)
        return false;
    /* %n after "] " also skipped spaces of the message; recompute exactly. */
    const char *close = strstr(line, "] ");
    if (close == NULL || close - line >= length)
        return false;
    out->message = close + 2;
    out->message_length = length - (int)(close + 2 - line);
    return true;
}

/* Split `text` into lines; returns how many, each whole (newline-ended). */
static int split_lines(char *text, char **lines, int capacity)
{
    int count = 0;
    for (char *p = text; *p;) {
        char *end = strchr(p, '\n');
        ck_assert_msg(end != NULL, "a line without its newline: '%s'", p);
        *end = '\0';
        ck_assert_int_lt(count, capacity);
        lines[count++] = p;
        p = end + 1;
    }
    return count;
}

static pid_t kernel_tid(void) { return (pid_t)syscall(SYS_gettid); }

/* ---- One thread ----------------------------------------------------------------- */

START_TEST(line_format)
{
    log_set_name("logtest");
    capture_begin();
    log_line("counted to %d in %s", 42, "a while");
    char *text = capture_end();
    char expected[256];
    snprintf(expected, sizeof expected, "[pid %d logtest tid %d] counted to "
             "42 in a while\n", (int)getpid(), (int)kernel_tid());
    ck_assert_str_eq(text, expected);
}
END_TEST

START_TEST(one_line_per_call_and_flushed)
{
    log_set_name("flushes");
    capture_begin();
    log_line("first");
    /* log_line flushed it: it is in the file before anyone else flushes. */
    ck_assert_msg(strstr(captured(), "] first\n") != NULL,
                  "the line was not flushed: '%s'", captured());
    for (int i = 0; i < 9; i++)
        log_line("line %d", i);
    log_line("%s", ""); /* an empty message is still a line */
    char *text = capture_end();
    ck_assert_int_eq(count_lines(text), 11);
    char *lines[16];
    int n = split_lines(text, lines, 16);
    ck_assert_int_eq(n, 11);
    for (int i = 0; i < n; i++) {
        struct parsed p;
        ck_assert_msg(parse_line(lines[i], (int)strlen(lines[i]), &p),
                      "unparsable line '%s'", lines[i]);
        ck_assert_int_eq(p.pid, getpid());
        ck_assert_int_eq(p.tid, kernel_tid());
        ck_assert_str_eq(p.name, "flushes");
    }
}
END_TEST

START_TEST(names)
{
    /* A process starts with its program's name (the kernel keeps 15). */
    char program[16];
    snprintf(program, sizeof program, "%s", program_invocation_short_name);
    ck_assert_str_eq(log_name(), program);

    log_set_name("alpha");
    ck_assert_str_eq(log_name(), "alpha");
    /* Truncated to 15 characters. */
    log_set_name("a-name-longer-than-fifteen");
    ck_assert_str_eq(log_name(), "a-name-longer-t");
    /* It is the kernel's name of the thread: ps and top show the same. */
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)kernel_tid());
    FILE *file = fopen(path, "r");
    ck_assert_ptr_nonnull(file);
    ck_assert_ptr_nonnull(fgets(comm, sizeof comm, file));
    fclose(file);
    ck_assert_str_eq(comm, "a-name-longer-t\n");

    ck_assert_int_eq(log_thread_id(), kernel_tid());
    ck_assert_int_eq(log_thread_id(), getpid()); /* the main thread */
}
END_TEST

/* ---- Threads -------------------------------------------------------------------- */

enum { THREADS = 4, LINES_EACH = 50, LONG_MESSAGE = 3000 };

struct thread_record {
    int index;
    pid_t tid;
    char name_seen[16];
    pthread_barrier_t *barrier;
};

static void *logging_thread(void *arg)
{
    struct thread_record *self = arg;
    char name[16];
    snprintf(name, sizeof name, "thr-%d", self->index);
    log_set_name(name);
    self->tid = log_thread_id();
    /* Every thread has set its name before any logs: a process-wide name
     * would now be the last one set, for all of them. */
    pthread_barrier_wait(self->barrier);
    snprintf(self->name_seen, sizeof self->name_seen, "%s", log_name());
    char filler[LONG_MESSAGE + 1];
    memset(filler, 'a' + self->index, LONG_MESSAGE);
    filler[LONG_MESSAGE] = '\0';
    for (int i = 0; i < LINES_EACH; i++)
        log_line("t%d n%d %s", self->index, i, filler);
    return NULL;
}

START_TEST(threads_each_their_own_name_and_tid)
{
    log_set_name("main-thread");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    struct thread_record records[THREADS];
    pthread_t threads[THREADS];
    capture_begin();
    for (int i = 0; i < THREADS; i++) {
        records[i] = (struct thread_record){.index = i, .barrier = &barrier};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, logging_thread,
                                        &records[i]),
                         0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    char *text = capture_end();
    pthread_barrier_destroy(&barrier);

    /* The main thread's name is its own. */
    ck_assert_str_eq(log_name(), "main-thread");
    for (int i = 0; i < THREADS; i++) {
        char expected[16];
        snprintf(expected, sizeof expected, "thr-%d", i);
        ck_assert_str_eq(records[i].name_seen, expected);
        ck_assert_int_ne(records[i].tid, getpid());
        for (int j = 0; j < i; j++)
            ck_assert_int_ne(records[i].tid, records[j].tid);
    }

    /* Every line whole, tagged with the thread that printed it. */
    static char *lines[THREADS * LINES_EACH + 1];
    int n = split_lines(text, lines, THREADS * LINES_EACH + 1);
    ck_assert_int_eq(n, THREADS * LINES_EACH);
    int next[THREADS] = {0};
    for (int k = 0; k < n; k++) {
        struct parsed p;
        int length = (int)strlen(lines[k]);
        ck_assert_msg(parse_line(lines[k], length, &p), "line %d unparsable",
                      k);
        int index = -1, number = -1, consumed = 0;
        ck_assert_msg(sscanf(p.message, "t%d n%d %n", &index, &number,
                             &consumed) == 2 &&
                          index >= 0 && index < THREADS,
                      "line %d: bad message start", k);
        char expected_name[16];
        snprintf(expected_name, sizeof expected_name, "thr-%d", index);
        ck_assert_str_eq(p.name, expected_name);
        ck_assert_int_eq(p.pid, getpid());
        ck_assert_int_eq(p.tid, records[index].tid);
        /* Lines of one thread keep their order. */
        ck_assert_int_eq(number, next[index]);
        next[index]++;
        /* The long message arrived whole: nothing of another line inside. */
        ck_assert_int_eq(p.message_length - consumed, LONG_MESSAGE);
        for (int c = 0; c < LONG_MESSAGE; c++)
            if (p.message[consumed + c] != 'a' + index)
                ck_abort_msg("line %d: foreign text at %d", k, c);
    }
}
END_TEST

/* ---- Processes ------------------------------------------------------------------- */

static int logging_child(void *arg)
{
    (void)arg;
    log_line("from the child");
    return 0;
}

START_TEST(child_process_lines)
{
    signal(SIGTERM, SIG_DFL); /* not Check's handler in our children */
    log_set_name("parent");
    capture_begin();
    log_line("before");
    struct proc child;
    proc_start(&child, "logchild", logging_child, NULL);
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    ck_assert_int_eq(child.exitcode, 0);
    log_line("after");
    char *text = capture_end();

    char *lines[8];
    int n = split_lines(text, lines, 8);
    ck_assert_msg(n == 3, "%d lines:\n%s", n, text);
    struct parsed p[3];
    for (int i = 0; i < 3; i++)
        ck_assert(parse_line(lines[i], (int)strlen(lines[i]), &p[i]));
    ck_assert_str_eq(p[0].message, "before");
    ck_assert_str_eq(p[1].message, "from the child");
    ck_assert_str_eq(p[2].message, "after");
    ck_assert_int_eq(p[0].pid, getpid());
    ck_assert_str_eq(p[0].name, "parent");
    /* The child's line names the child: its pid, its own name, its thread. */
    ck_assert_int_eq(p[1].pid, child.pid);
    ck_assert_str_eq(p[1].name, "logchild");
    ck_assert_int_eq(p[1].tid, child.pid);
    ck_assert_int_eq(p[2].pid, getpid());
    ck_assert_str_eq(p[2].name, "parent");
}
END_TEST

Suite *log_suite(void)
{
    Suite *suite = suite_create("log");
    TCase *lines = tcase_create("log_lines");
    tcase_set_timeout(lines, 8);
    tcase_add_test(lines, line_format);
    tcase_add_test(lines, one_line_per_call_and_flushed);
    tcase_add_test(lines, names);
    tcase_add_test(lines, threads_each_their_own_name_and_tid);
    tcase_add_test(lines, child_process_lines);
    suite_add_tcase(suite, lines);
    return suite;
}
