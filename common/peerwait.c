/* peerwait.c: spin-then-sleep for a peer's message (see peerwait.h). */
#define _GNU_SOURCE
#include "peerwait.h"

#include "checked.h"
#include "proc.h"
#include "timing.h"

#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

struct peerwait_page {
    struct {
        _Alignas(64) atomic_uint_fast64_t sent, received;
        atomic_int asleep; /* in a receive that may block */
        atomic_int cpu;    /* where it last ran (sched_getcpu) */
    } side[2];
};

enum {
    SPIN_MAX_NS = 50000, /* as the queue's spin (queue.c) */
    SPIN_MIN_NS = 2000,  /* below this, stop spinning for a while */
    SPIN_PAUSE_RECEIVES = 64,
};

static atomic_uint_fast64_t spins_won, spins_lost, peer_asleep;
static atomic_int spin_cpus; /* CPUs this process may use; 0: not read yet */

struct peerwait_stats peerwait_stats(void)
{
    return (struct peerwait_stats){.spins_won = atomic_load(&spins_won),
                                   .spins_lost = atomic_load(&spins_lost),
                                   .peer_asleep = atomic_load(&peer_asleep)};
}

static inline void pause_once(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause(); /* lets the sibling hyperthread run */
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

int peerwait_page(void)
{
    int fd = CHECK(memfd_create("peerwait", MFD_CLOEXEC));
    CHECK(ftruncate(fd, sizeof(struct peerwait_page)));
    return fd;
}

void peerwait_open(struct peerwait *end, int fd, int side)
{
    if (atomic_load_explicit(&spin_cpus, memory_order_relaxed) == 0)
        atomic_store_explicit(&spin_cpus, proc_cpu_count(),
                              memory_order_relaxed);
    void *page = mmap(NULL, sizeof(struct peerwait_page),
                      PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    *end = (struct peerwait){.page = page == MAP_FAILED ? NULL : page,
                             .side = side,
                             .budget_ns = SPIN_MAX_NS};
}

void peerwait_close(struct peerwait *end)
{
    if (end->page != NULL)
        CHECK(munmap(end->page, sizeof(struct peerwait_page)));
    end->page = NULL;
}

void peerwait_sent(struct peerwait *end)
{
    if (end->page != NULL)
        atomic_fetch_add_explicit(&end->page->side[end->side].sent, 1,
                                  memory_order_release);
}

/* Is a message worth waiting for with the CPU?  (See peerwait.h.) */
enum peer_state {
    PEER_WAITING, /* asleep with nothing of ours to read: no reply soon */
    PEER_WAKING,  /* asleep, but with a message of ours: being woken */
    PEER_AWAKE,   /* running (or at least not asleep in a receive) */
};

static enum peer_state peer_state(const struct peerwait *end)
{
    struct peerwait_page *page = end->page;
    int me = end->side, peer = 1 - me;
    if (!atomic_load_explicit(&page->side[peer].asleep, memory_order_relaxed))
        return PEER_AWAKE;
    return atomic_load_explicit(&page->side[peer].received,
                                memory_order_relaxed) !=
                   atomic_load_explicit(&page->side[me].sent,
                                        memory_order_relaxed)
               ? PEER_WAKING
               : PEER_WAITING;
}

void peerwait_before_receive(struct peerwait *end, double timeout)
{
    struct peerwait_page *page = end->page;
    if (page == NULL || timeout == 0)
        return;
    int peer = 1 - end->side;
    uint64_t sent = atomic_load_explicit(&page->side[peer].sent,
                                         memory_order_acquire);
    /* Only when nothing of the peer's is in flight (a message sent and not
     * yet received would make the receive return at once), and with a
     * second CPU for the peer to run on. */
    if (sent == end->received &&
        atomic_load_explicit(&spin_cpus, memory_order_relaxed) >= 2) {
        if (end->pause > 0) {
            end->pause--;
        } else if (peer_state(end) == PEER_WAITING) {
            atomic_fetch_add_explicit(&peer_asleep, 1, memory_order_relaxed);
        } else {
            uint64_t budget = end->budget_ns;
            if (timeout > 0 && timeout * 1e9 < (double)budget)
                budget = (uint64_t)(timeout * 1e9);
            uint64_t start = clock_nanoseconds(), now = start;
            bool won = false;
            for (unsigned i = 1;; i++) {
                if (atomic_load_explicit(&page->side[peer].sent,
                                         memory_order_acquire) != sent) {
                    won = true;
                    break;
                }
                enum peer_state state = peer_state(end);
                if (state == PEER_WAITING)
                    break; /* it waits for something else: no reply soon */
                /* A peer on this very CPU cannot run while we spin: sleep,
                 * which lets it run at once.  (A wake-up from a pipe or
                 * socket write is "synchronous": the scheduler expects the
                 * writer to sleep next, and often runs the woken one on the
                 * writer's CPU.  Yielding instead was measured worse: on a
                 * busy machine sched_yield() hands the CPU to whatever else
                 * is runnable, for a whole time slice.) */
                int here = sched_getcpu();
                atomic_store_explicit(&page->side[end->side].cpu, here,
                                      memory_order_relaxed);
                if (atomic_load_explicit(&page->side[peer].cpu,
                                         memory_order_relaxed) == here)
                    break;
                pause_once();
                if (i % 16 == 0 && (now = clock_nanoseconds()) - start >= budget)
                    break;
            }
            if (won) {
                atomic_fetch_add_explicit(&spins_won, 1, memory_order_relaxed);
                end->budget_ns = end->budget_ns * 2 > SPIN_MAX_NS
                                     ? SPIN_MAX_NS
                                     : end->budget_ns * 2;
                return; /* in flight: the receive will not sleep */
            }
            if (now - start >= budget) {
                atomic_fetch_add_explicit(&spins_lost, 1, memory_order_relaxed);
                if ((end->budget_ns /= 2) < SPIN_MIN_NS) {
                    end->budget_ns = SPIN_MAX_NS;
                    end->pause = SPIN_PAUSE_RECEIVES;
                }
            }
        }
    }
    atomic_store_explicit(&page->side[end->side].asleep, 1,
                          memory_order_relaxed);
}

void peerwait_after_receive(struct peerwait *end, bool got)
{
    if (end->page == NULL)
        return;
    atomic_store_explicit(&end->page->side[end->side].cpu, sched_getcpu(),
                          memory_order_relaxed);
    if (got) {
        end->received++;
        atomic_store_explicit(&end->page->side[end->side].received,
                              end->received, memory_order_relaxed);
    }
    atomic_store_explicit(&end->page->side[end->side].asleep, 0,
                          memory_order_relaxed);
}
