// atrium-nfq: user-space loss and delay for packets sent to an NFQUEUE (the kernel here has no sch_netem).
// Built and driven by e2e/helpers/netns-impair.ts; see docs/testing.md "Impaired-network tests".
//
// Usage: atrium-nfq --queue N --loss PERCENT --delay-ms MS --seed S
// Each queued packet is dropped (NF_DROP: silent to the sender, like loss on a real path) with probability
// PERCENT/100 from a seeded PRNG, or held and released (NF_ACCEPT) DELAY ms after it arrived. Held packets sit
// in a min-heap ordered by release time, so verdicts go out in time order (not necessarily in id order).
// Control on stdin, one command a line; answers are one JSON line on stdout:
//   stats                        -> {"seen":..,"dropped":..,"delayed":..,"released":..,"pending":..,...}
//   set loss=P delay=MS          -> new settings for packets that arrive from now on; answers with stats
//   stop (or EOF, SIGTERM, SIGINT)-> every held packet released at once, final stats, exit 0
// The first line printed is {"ready":true,...} once the queue is bound. EOF on stdin means the controlling
// process died: the helper releases what it holds and exits, so nothing stays queued in the kernel.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

typedef struct {
  int64_t due_ns;
  uint32_t id;
} held_t;

static held_t *heap;
static size_t heap_len, heap_cap;
static struct nfq_q_handle *qh;
static volatile sig_atomic_t stop_requested;

static double loss_fraction;
static int64_t delay_ns;
static uint64_t rng_state;

static uint64_t seen, dropped, delayed, released, seen_bytes, dropped_bytes, verdict_errors, max_pending;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// splitmix64: small, seedable, good enough for a loss pattern.
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double rng_unit(void) { return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0); }

static void heap_push(held_t h) {
  if (heap_len == heap_cap) {
    heap_cap = heap_cap ? heap_cap * 2 : 1024;
    heap = realloc(heap, heap_cap * sizeof(held_t));
    if (!heap) { perror("atrium-nfq: realloc"); exit(3); }
  }
  size_t i = heap_len++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (heap[p].due_ns <= h.due_ns) break;
    heap[i] = heap[p];
    i = p;
  }
  heap[i] = h;
  if (heap_len > max_pending) max_pending = heap_len;
}

static held_t heap_pop(void) {
  held_t top = heap[0];
  held_t last = heap[--heap_len];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    int64_t md = last.due_ns;
    if (l < heap_len && heap[l].due_ns < md) { m = l; md = heap[l].due_ns; }
    if (r < heap_len && heap[r].due_ns < md) m = r;
    if (m == i) break;
    heap[i] = heap[m];
    i = m;
  }
  if (heap_len > 0) heap[i] = last;
  return top;
}

static void verdict(uint32_t id, uint32_t v) {
  if (nfq_set_verdict(qh, id, v, 0, NULL) < 0) verdict_errors++;
}

static void release_due(int64_t now, int release_all) {
  while (heap_len > 0 && (release_all || heap[0].due_ns <= now)) {
    held_t h = heap_pop();
    verdict(h.id, NF_ACCEPT);
    released++;
  }
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
  (void)q; (void)msg; (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = ntohl(ph->packet_id);
  unsigned char *payload = NULL;
  int len = nfq_get_payload(nfa, &payload);
  uint32_t ip_len = 0;
  if (len >= 4) ip_len = ((uint32_t)payload[2] << 8) | payload[3];  // IPv4 total length
  seen++;
  seen_bytes += ip_len;
  if (loss_fraction > 0 && rng_unit() < loss_fraction) {
    dropped++;
    dropped_bytes += ip_len;
    verdict(id, NF_DROP);
    return 0;
  }
  if (delay_ns <= 0 || stop_requested) {
    verdict(id, NF_ACCEPT);
    released++;
    return 0;
  }
  delayed++;
  held_t h = { now_ns() + delay_ns, id };
  heap_push(h);
  return 0;
}

static void print_stats(const char *extra) {
  printf("{\"seen\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"delayed\":%" PRIu64 ",\"released\":%" PRIu64
         ",\"pending\":%zu,\"maxPending\":%" PRIu64 ",\"seenBytes\":%" PRIu64 ",\"droppedBytes\":%" PRIu64
         ",\"verdictErrors\":%" PRIu64 ",\"lossPercent\":%.6g,\"delayMs\":%.6g%s}\n",
         seen, dropped, delayed, released, heap_len, max_pending, seen_bytes, dropped_bytes, verdict_errors,
         loss_fraction * 100.0, (double)delay_ns / 1e6, extra ? extra : "");
  fflush(stdout);
}

static int apply_settings(const char *s) {
  const char *p;
  if ((p = strstr(s, "loss="))) {
    double v = strtod(p + 5, NULL);
    if (v < 0 || v > 100) return -1;
    loss_fraction = v / 100.0;
  }
  if ((p = strstr(s, "delay="))) {
    double v = strtod(p + 6, NULL);
    if (v < 0 || v > 60000) return -1;
    delay_ns = (int64_t)(v * 1e6);
  }
  return 0;
}

// Handles complete lines in buf; returns 1 when asked to stop.
static int handle_commands(char *buf, size_t *len) {
  int stop = 0;
  char *start = buf, *nl;
  while ((nl = memchr(start, '\n', *len - (size_t)(start - buf)))) {
    *nl = 0;
    if (strcmp(start, "stats") == 0) print_stats(NULL);
    else if (strcmp(start, "stop") == 0) stop = 1;
    else if (strncmp(start, "set ", 4) == 0) {
      if (apply_settings(start + 4) == 0) print_stats(NULL);
      else { printf("{\"error\":\"bad settings\"}\n"); fflush(stdout); }
    } else if (*start) { printf("{\"error\":\"unknown command\"}\n"); fflush(stdout); }
    start = nl + 1;
  }
  size_t rest = *len - (size_t)(start - buf);
  memmove(buf, start, rest);
  *len = rest;
  if (*len >= 4095) *len = 0;  // an over-long line: discard
  return stop;
}

static void on_signal(int sig) { (void)sig; stop_requested = 1; }

int main(int argc, char **argv) {
  int queue_num = -1;
  double loss = 0, delay_ms = 0;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--queue")) queue_num = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--loss")) loss = strtod(argv[i + 1], NULL);
    else if (!strcmp(argv[i], "--delay-ms")) delay_ms = strtod(argv[i + 1], NULL);
    else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 10);
    else { fprintf(stderr, "atrium-nfq: unknown option %s\n", argv[i]); return 2; }
  }
  if (queue_num < 0 || queue_num > 65535 || loss < 0 || loss > 100 || delay_ms < 0) {
    fprintf(stderr, "usage: atrium-nfq --queue N --loss PERCENT --delay-ms MS --seed S\n");
    return 2;
  }
  loss_fraction = loss / 100.0;
  delay_ns = (int64_t)(delay_ms * 1e6);
  rng_state = seed;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;  // no SA_RESTART: ppoll returns EINTR
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct nfq_handle *h = nfq_open();
  if (!h) { perror("atrium-nfq: nfq_open"); return 1; }
  qh = nfq_create_queue(h, (uint16_t)queue_num, &on_packet, NULL);
  if (!qh) { fprintf(stderr, "atrium-nfq: cannot bind queue %d: %s\n", queue_num, strerror(errno)); return 1; }
  // Only the IPv4 header is needed (for byte counts).
  if (nfq_set_mode(qh, NFQNL_COPY_PACKET, 20) < 0) { perror("atrium-nfq: nfq_set_mode"); return 1; }
  nfq_set_queue_maxlen(qh, 65536);
  int fd = nfq_fd(h);
  // A lost netlink message would leave its packet in the kernel queue for good: big buffer, no ENOBUFS.
  nfnl_rcvbufsiz(nfq_nfnlh(h), 8 * 1024 * 1024);
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);

  printf("{\"ready\":true,\"queue\":%d,\"pid\":%d}\n", queue_num, (int)getpid());
  fflush(stdout);

  static char pkt[65536];
  static char cmd[4096];
  size_t cmd_len = 0;
  while (!stop_requested) {
    int64_t now = now_ns();
    release_due(now, 0);
    struct timespec ts, *tsp = NULL;
    if (heap_len > 0) {
      int64_t wait = heap[0].due_ns - now;
      if (wait < 0) wait = 0;
      ts.tv_sec = wait / 1000000000LL;
      ts.tv_nsec = wait % 1000000000LL;
      tsp = &ts;
    }
    struct pollfd fds[2] = { { fd, POLLIN, 0 }, { STDIN_FILENO, POLLIN, 0 } };
    int n = ppoll(fds, 2, tsp, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("atrium-nfq: ppoll");
      break;
    }
    if (fds[0].revents & POLLIN) {
      for (;;) {
        ssize_t r = recv(fd, pkt, sizeof pkt, 0);
        if (r < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
          if (errno == ENOBUFS) continue;
          perror("atrium-nfq: recv");
          stop_requested = 1;
          break;
        }
        nfq_handle_packet(h, pkt, (int)r);
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(STDIN_FILENO, cmd + cmd_len, sizeof cmd - 1 - cmd_len);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) break;  // controller gone
      if (r > 0) {
        cmd_len += (size_t)r;
        if (handle_commands(cmd, &cmd_len)) break;
      }
    }
  }
  // Release everything still held: unbinding with packets in the queue would drop them.
  release_due(0, 1);
  print_stats(",\"final\":true");
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
