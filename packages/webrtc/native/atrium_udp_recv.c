// Batched UDP receiving for @atrium/webrtc's UdpMux: recvmmsg(2) into a slab the caller owns, and one JavaScript call
// per batch instead of node:dgram's one call (plus a Buffer and an rinfo object with a fresh address string) per
// datagram. Part of the atrium_srtp addon (registered by atrium_srtp.c's init). Used by src/udp-recv.ts.
//
// The reader polls a dup(2) of the socket's fd with its own uv_poll_t on the calling thread's event loop (the main
// thread's or a worker's). A second fd number is what lets libuv watch the socket twice: node:dgram keeps its own
// watcher for sends that have to wait (EAGAIN), and the caller stops node:dgram's receiving (UDPWrap.recvStop) so
// that only this reader takes datagrams. The poll handle is referenced, as node:dgram's receiving was.
// API:
//   udpRecvStart(fd, slab, meta, slotBytes, onBatch) -> handle
//       slab: Buffer of capacity * slotBytes; meta: Int32Array of capacity * RECV_META_STRIDE; capacity is what both
//       hold (at most RECV_MAX_BATCH). When the socket is readable: up to RECV_MAX_ROUNDS recvmmsg calls of up to
//       capacity datagrams each; after each, onBatch(count) with datagram i in slab[i * slotBytes, + length) and
//       meta[i * RECV_META_STRIDE + ...] = [length (-1 if it did not fit the slot: dropped), port, family (4|6),
//       0, address words (IPv4: word 0 in network order; IPv6: 4 words)]. An exception from onBatch is reported as
//       an uncaught exception, as node:dgram's 'message' listeners are.
//   udpRecvStop(handle)   stops and frees (idempotent); also done when the thread's environment is torn down.
//   udpAddressName(family, w0, w1, w2, w3) -> the address as inet_ntop(3) writes it (the reader's cache misses).
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include "atrium_napi.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define UDP_ERR "ERR_ATRIUM_NATIVE_UDP"
#define RECV_META_STRIDE 8
#define RECV_MAX_BATCH 64
/* Batches per readable event before the loop gets a turn (sends queued by the callbacks flush on that turn). */
#define RECV_MAX_ROUNDS 8

#ifdef __linux__
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

typedef struct reader reader;

/* What the JavaScript handle points at: the reader until it is stopped, then NULL (the reader frees itself once
   libuv has closed its poll handle; the box lives until the handle is garbage-collected). */
typedef struct {
  reader *r;
} reader_box;

struct reader {
  uv_poll_t poll; /* first: the uv_handle_t* libuv gives back is this struct */
  napi_env env;
  int fd; /* our dup, closed with the poll handle */
  napi_ref on_batch;
  napi_ref slab_ref;
  napi_ref meta_ref;
  napi_async_context async;
  unsigned char *slab;
  int32_t *meta;
  uint32_t capacity;
  uint32_t slot;
  reader_box *box;
};

static void reader_closed(uv_handle_t *h) {
  reader *r = (reader *)h;
  close(r->fd);
  free(r);
}

/* Stops polling, releases the JavaScript values, and closes the handle (the memory goes in reader_closed). */
static void reader_stop(reader *r) {
  if (r->box != NULL) r->box->r = NULL;
  r->box = NULL;
  uv_poll_stop(&r->poll);
  napi_delete_reference(r->env, r->on_batch);
  napi_delete_reference(r->env, r->slab_ref);
  napi_delete_reference(r->env, r->meta_ref);
  napi_async_destroy(r->env, r->async);
  uv_close((uv_handle_t *)&r->poll, reader_closed);
}

static void reader_env_teardown(void *arg) {
  reader_stop((reader *)arg);
}

static void reader_stop_with_hook(reader *r) {
  napi_remove_env_cleanup_hook(r->env, reader_env_teardown, r);
  reader_stop(r);
}

/* One recvmmsg into the slab; the count, 0 when nothing is waiting, -1 on another error. */
static int reader_fill(reader *r) {
  struct mmsghdr msgs[RECV_MAX_BATCH];
  struct iovec iov[RECV_MAX_BATCH];
  struct sockaddr_storage from[RECV_MAX_BATCH];
  for (uint32_t i = 0; i < r->capacity; i++) {
    iov[i].iov_base = r->slab + (size_t)i * r->slot;
    iov[i].iov_len = r->slot;
    memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n;
  do {
    n = recvmmsg(r->fd, msgs, r->capacity, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  for (int i = 0; i < n; i++) {
    int32_t *m = r->meta + (size_t)i * RECV_META_STRIDE;
    memset(m, 0, RECV_META_STRIDE * sizeof(int32_t));
    m[0] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)msgs[i].msg_len;
    if (from[i].ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&from[i];
      m[1] = ntohs(a->sin6_port);
      m[2] = 6;
      memcpy(&m[4], &a->sin6_addr, 16);
    } else {
      struct sockaddr_in *a = (struct sockaddr_in *)&from[i];
      m[1] = ntohs(a->sin_port);
      m[2] = 4;
      memcpy(&m[4], &a->sin_addr, 4);
    }
  }
  return n;
}

static void reader_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  reader *r = (reader *)h;
  if (status < 0) return; /* a poll error on a datagram socket: nothing to read; the next event tries again */
  napi_env env = r->env;
  for (int round = 0; round < RECV_MAX_ROUNDS && r->box != NULL; round++) {
    int n = reader_fill(r);
    if (n <= 0) return;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value cb, recv, count, result;
    napi_get_reference_value(env, r->on_batch, &cb);
    napi_get_global(env, &recv); /* MakeCallback needs an object as the receiver */
    napi_create_int32(env, n, &count);
    if (napi_make_callback(env, r->async, recv, cb, 1, &count, &result) == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
    napi_close_handle_scope(env, scope);
    if ((uint32_t)n < r->capacity) return; /* drained */
  }
}

static void box_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  reader_box *box = (reader_box *)data;
  if (box->r != NULL) reader_stop_with_hook(box->r);
  free(box);
}

static napi_value udp_recv_start(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!atrium_args(env, info, 5, argv, UDP_ERR, "udpRecvStart(fd, slab, meta, slotBytes, onBatch)")) return NULL;
  int32_t fd, slot;
  if (!atrium_int32_arg(env, argv[0], &fd, UDP_ERR) || !atrium_int32_arg(env, argv[3], &slot, UDP_ERR)) return NULL;
  void *slab = NULL, *meta = NULL;
  size_t slab_len = 0, meta_len = 0;
  bool is_buffer = false;
  napi_typedarray_type mt;
  napi_valuetype cbt;
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[1], &slab, &slab_len) != napi_ok) {
    napi_throw_type_error(env, UDP_ERR, "slab must be a Buffer");
    return NULL;
  }
  if (napi_get_typedarray_info(env, argv[2], &mt, &meta_len, &meta, NULL, NULL) != napi_ok || mt != napi_int32_array) {
    napi_throw_type_error(env, UDP_ERR, "meta must be an Int32Array");
    return NULL;
  }
  if (napi_typeof(env, argv[4], &cbt) != napi_ok || cbt != napi_function) {
    napi_throw_type_error(env, UDP_ERR, "onBatch must be a function");
    return NULL;
  }
  if (slot < 1 || fd < 0) {
    napi_throw_range_error(env, UDP_ERR, "fd and slotBytes must be positive");
    return NULL;
  }
  size_t capacity = slab_len / (size_t)slot;
  if (meta_len / RECV_META_STRIDE < capacity) capacity = meta_len / RECV_META_STRIDE;
  if (capacity > RECV_MAX_BATCH) capacity = RECV_MAX_BATCH;
  if (capacity == 0) {
    napi_throw_range_error(env, UDP_ERR, "slab and meta must hold at least one datagram");
    return NULL;
  }
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) {
    napi_throw_error(env, UDP_ERR, "no event loop");
    return NULL;
  }
  int type = 0;
  socklen_t tlen = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_DGRAM) {
    napi_throw_error(env, UDP_ERR, "fd is not a datagram socket");
    return NULL;
  }
  reader *r = (reader *)calloc(1, sizeof(reader));
  reader_box *box = (reader_box *)calloc(1, sizeof(reader_box));
  if (r == NULL || box == NULL) {
    free(r);
    free(box);
    napi_throw_error(env, UDP_ERR, "out of memory");
    return NULL;
  }
  r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (r->fd < 0 || uv_poll_init_socket(loop, &r->poll, r->fd) != 0) {
    if (r->fd >= 0) close(r->fd);
    free(r);
    free(box);
    napi_throw_error(env, UDP_ERR, "could not poll the socket");
    return NULL;
  }
  r->env = env;
  r->slab = (unsigned char *)slab;
  r->meta = (int32_t *)meta;
  r->capacity = (uint32_t)capacity;
  r->slot = (uint32_t)slot;
  r->box = box;
  box->r = r;
  napi_value name, handle;
  napi_create_string_utf8(env, "AtriumUdpRecv", NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, argv[4], 1, &r->on_batch);
  napi_create_reference(env, argv[1], 1, &r->slab_ref);
  napi_create_reference(env, argv[2], 1, &r->meta_ref);
  napi_async_init(env, NULL, name, &r->async);
  napi_add_env_cleanup_hook(env, reader_env_teardown, r);
  uv_poll_start(&r->poll, UV_READABLE, reader_readable);
  if (napi_create_external(env, box, box_finalize, NULL, &handle) != napi_ok) {
    reader_stop_with_hook(r);
    free(box);
    return NULL;
  }
  return handle;
}

static napi_value udp_recv_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!atrium_args(env, info, 1, argv, UDP_ERR, "udpRecvStop(handle)")) return NULL;
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, UDP_ERR, "expected a handle from udpRecvStart");
    return NULL;
  }
  reader_box *box = (reader_box *)p;
  if (box->r != NULL) reader_stop_with_hook(box->r);
  return NULL;
}

static napi_value udp_address_name(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!atrium_args(env, info, 5, argv, UDP_ERR, "udpAddressName(family, w0, w1, w2, w3)")) return NULL;
  int32_t family, w[4];
  if (!atrium_int32_arg(env, argv[0], &family, UDP_ERR)) return NULL;
  for (int i = 0; i < 4; i++) if (!atrium_int32_arg(env, argv[i + 1], &w[i], UDP_ERR)) return NULL;
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, w, text, sizeof(text)) == NULL) {
    napi_throw_range_error(env, UDP_ERR, "family must be 4 or 6");
    return NULL;
  }
  napi_value out;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out);
  return out;
}

#else /* not Linux: no recvmmsg */

static napi_value udp_recv_unsupported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_throw_error(env, UDP_ERR, "recvmmsg batching is only built on Linux");
  return NULL;
}
#define udp_recv_start udp_recv_unsupported
#define udp_recv_stop udp_recv_unsupported
#define udp_address_name udp_recv_unsupported

#endif

void atrium_udp_recv_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "udpRecvStart", NULL, udp_recv_start, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpRecvStop", NULL, udp_recv_stop, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpAddressName", NULL, udp_address_name, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_value stride;
  napi_create_int32(env, RECV_META_STRIDE, &stride);
  napi_set_named_property(env, exports, "udpRecvMetaStride", stride);
}
