// Batched UDP sending for @atrium/webrtc's UdpMux: many datagrams, each to its own destination, with one sendmmsg(2)
// per up to CHUNK datagrams on the fd of the mux's node:dgram socket. Part of the atrium_srtp addon (registered by
// atrium_srtp.c's init). Loaded and self-tested by src/udp-batch.ts, which decides when a direct send is allowed
// (never while libuv or node:dgram still hold unsent datagrams of that socket, so nothing overtakes them) and falls
// back to node:dgram for whatever this stops short of.
// API:
//   udpSupported                                   -> boolean (false: not Linux; every other call throws)
//   udpSocketInfo(fd)                              -> [family (4|6), local port] from getsockname(2)
//   udpSendBatch(fd, family, bufs, ports, addrs, start, count, result) -> processed
//       Sends bufs[i] to addrs[i]:ports[i] for i in [start, start + count), in order. bufs: Array of Buffer,
//       ports: Uint16Array, addrs: Array of string (IPv4 or IPv6 literal, optional %scope on IPv6; IPv4 on an IPv6
//       socket goes as ::ffff:a.b.c.d). Returns how many of them were dealt with (sent, or dropped because of an
//       error of their own); fewer than count only when the socket could not take more (EAGAIN, EWOULDBLOCK,
//       ENOBUFS) or is unusable (EBADF, ENOTSOCK, EINVAL on the fd...): then result[2] is that errno and the caller
//       sends the rest another way. result (Int32Array of 3): [sent, dropped, errno of the stop or of the last drop].
//       Never throws for a datagram's own error (bad address, EMSGSIZE, ENETUNREACH, EPERM...): it is dropped and counted.
//   udpTestSocket(family)                          -> [fd, port]: a bound non-blocking loopback socket (self-test only)
//   udpTestRecv(fd, buf, waitMs)                   -> bytes received into buf, or -errno (self-test only)
//   udpTestClose(fd)                               (self-test only)
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include "atrium_napi.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>

#ifdef __linux__
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#define UDP_ERR "ERR_ATRIUM_NATIVE_UDP"
/* Datagrams per sendmmsg call; the arrays live on the stack (media workers call this from several threads). */
#define CHUNK 64

static napi_value udp_throw(napi_env env, const char *msg) {
  napi_throw_error(env, UDP_ERR, msg);
  return NULL;
}

#ifdef __linux__

/* Address literal -> sockaddr for a socket of `family` (4 or 6). 0 on success, else an errno. */
static int parse_address(const char *s, uint16_t port, int family, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof(struct sockaddr_in6));
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, s, &a->sin_addr) != 1) return strchr(s, ':') != NULL ? EAFNOSUPPORT : EINVAL;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    *len = sizeof(struct sockaddr_in);
    return 0;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  *len = sizeof(struct sockaddr_in6);
  if (inet_pton(AF_INET6, s, &a->sin6_addr) == 1) return 0;
  struct in_addr v4;
  if (inet_pton(AF_INET, s, &v4) == 1) { /* IPv4-mapped, as libuv does for a dual-stack socket */
    a->sin6_addr.s6_addr[10] = 0xff;
    a->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&a->sin6_addr.s6_addr[12], &v4, 4);
    return 0;
  }
  const char *pct = strchr(s, '%');
  if (pct == NULL || pct - s >= 64) return EINVAL;
  char host[64];
  memcpy(host, s, (size_t)(pct - s));
  host[pct - s] = '\0';
  if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return EINVAL;
  char *end = NULL;
  unsigned long idx = strtoul(pct + 1, &end, 10);
  if (end == pct + 1 || *end != '\0') idx = if_nametoindex(pct + 1);
  if (idx == 0) return EINVAL;
  a->sin6_scope_id = (uint32_t)idx;
  return 0;
}

/* Errors that say the socket cannot take more now (or at all): stop, the caller sends the rest its own way. */
static int is_stop_errno(int e) {
  return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == ENOMEM || e == EBADF || e == ENOTSOCK || e == EFAULT;
}

static napi_value udp_send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!atrium_args(env, info, 8, argv, UDP_ERR, "udpSendBatch(fd, family, bufs, ports, addrs, start, count, result)")) return NULL;
  int32_t fd, family, start, count;
  if (!atrium_int32_arg(env, argv[0], &fd, UDP_ERR) || !atrium_int32_arg(env, argv[1], &family, UDP_ERR) || !atrium_int32_arg(env, argv[5], &start, UDP_ERR) ||
      !atrium_int32_arg(env, argv[6], &count, UDP_ERR)) return NULL;
  if (family != 4 && family != 6) return udp_throw(env, "family must be 4 or 6");
  napi_typedarray_type pt, rt;
  size_t ports_len = 0, result_len = 0;
  void *ports_data = NULL, *result_data = NULL;
  if (napi_get_typedarray_info(env, argv[3], &pt, &ports_len, &ports_data, NULL, NULL) != napi_ok || pt != napi_uint16_array) {
    napi_throw_type_error(env, UDP_ERR, "ports must be a Uint16Array");
    return NULL;
  }
  if (napi_get_typedarray_info(env, argv[7], &rt, &result_len, &result_data, NULL, NULL) != napi_ok || rt != napi_int32_array ||
      result_len < 3) {
    napi_throw_type_error(env, UDP_ERR, "result must be an Int32Array of 3");
    return NULL;
  }
  if (start < 0 || count < 0 || (size_t)start + (size_t)count > ports_len) return udp_throw(env, "start/count beyond the ports");
  const uint16_t *ports = (const uint16_t *)ports_data;
  int32_t *result = (int32_t *)result_data;
  result[0] = result[1] = result[2] = 0;

  struct mmsghdr msgs[CHUNK];
  struct iovec iov[CHUNK];
  struct sockaddr_storage addrs[CHUNK];
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int32_t i = start;
  const int32_t end = start + count;
  while (i < end) {
    /* Fill a chunk; a datagram that cannot be described (not a Buffer, bad address) ends the chunk and is dropped
       after the chunk went out, so order is kept for the others. */
    int n = 0;
    int bad_errno = 0;
    while (n < CHUNK && i + n < end) {
      napi_value b, a;
      bool is_buffer = false;
      void *data = NULL;
      size_t len = 0, host_len = 0;
      if (napi_get_element(env, argv[2], (uint32_t)(i + n), &b) != napi_ok || napi_is_buffer(env, b, &is_buffer) != napi_ok ||
          !is_buffer || napi_get_buffer_info(env, b, &data, &len) != napi_ok) {
        bad_errno = EINVAL;
        break;
      }
      if (napi_get_element(env, argv[4], (uint32_t)(i + n), &a) != napi_ok ||
          napi_get_value_string_latin1(env, a, host, sizeof(host), &host_len) != napi_ok || host_len >= sizeof(host) - 1) {
        bad_errno = EINVAL;
        break;
      }
      socklen_t alen = 0;
      int e = parse_address(host, ports[i + n], family, &addrs[n], &alen);
      if (e != 0) {
        bad_errno = e;
        break;
      }
      iov[n].iov_base = data;
      iov[n].iov_len = len;
      memset(&msgs[n], 0, sizeof(msgs[n]));
      msgs[n].msg_hdr.msg_name = &addrs[n];
      msgs[n].msg_hdr.msg_namelen = alen;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      n++;
    }
    int k = 0;
    while (k < n) {
      int r = sendmmsg(fd, msgs + k, (unsigned int)(n - k), MSG_DONTWAIT);
      if (r > 0) {
        k += r;
        result[0] += r;
        continue;
      }
      int e = r == 0 ? EAGAIN : errno;
      if (e == EINTR) continue;
      if (is_stop_errno(e)) {
        result[2] = e;
        napi_value processed;
        napi_create_int32(env, i + k - start, &processed);
        return processed;
      }
      /* msgs[k]'s own error (EMSGSIZE, ENETUNREACH, EPERM, EACCES, EINVAL...): drop it, go on with the next. */
      result[1]++;
      result[2] = e;
      k++;
    }
    i += n;
    if (bad_errno != 0) {
      result[1]++;
      result[2] = bad_errno;
      i++;
    }
  }
  napi_value v;
  napi_create_int32(env, end - start, &v);
  return v;
}

/** [a, b] as a JS array: (family or fd, port). */
static napi_value int_pair(napi_env env, int32_t a, uint32_t b) {
  napi_value out, first, second;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, a, &first);
  napi_create_uint32(env, b, &second);
  napi_set_element(env, out, 0, first);
  napi_set_element(env, out, 1, second);
  return out;
}

static napi_value udp_socket_info(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!atrium_args(env, info, 1, argv, UDP_ERR, "udpSocketInfo(fd)") || !atrium_int32_arg(env, argv[0], &fd, UDP_ERR)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  int type = 0;
  socklen_t tlen = sizeof(type);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return udp_throw(env, "getsockname failed");
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_DGRAM) return udp_throw(env, "not a datagram socket");
  int family;
  unsigned port;
  if (ss.ss_family == AF_INET) {
    family = 4;
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    family = 6;
    port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  } else {
    return udp_throw(env, "not an IP socket");
  }
  return int_pair(env, family, port);
}

static napi_value udp_test_socket(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t family;
  if (!atrium_args(env, info, 1, argv, UDP_ERR, "udpTestSocket(family)") || !atrium_int32_arg(env, argv[0], &family, UDP_ERR)) return NULL;
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return udp_throw(env, "socket failed");
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  socklen_t len;
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof(*a);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*a);
  }
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
    close(fd);
    return udp_throw(env, "bind to loopback failed");
  }
  unsigned port = family == 6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return int_pair(env, fd, port);
}

static napi_value udp_test_recv(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!atrium_args(env, info, 3, argv, UDP_ERR, "udpTestRecv(fd, buf, waitMs)")) return NULL;
  int32_t fd, wait_ms;
  void *data = NULL;
  size_t len = 0;
  if (!atrium_int32_arg(env, argv[0], &fd, UDP_ERR) || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok ||
      !atrium_int32_arg(env, argv[2], &wait_ms, UDP_ERR)) return udp_throw(env, "udpTestRecv(fd, buf, waitMs)");
  struct pollfd pfd = { .fd = fd, .events = POLLIN, .revents = 0 };
  ssize_t r = -1;
  int e = EAGAIN;
  if (poll(&pfd, 1, wait_ms) > 0) {
    r = recv(fd, data, len, MSG_DONTWAIT);
    e = errno;
  }
  napi_value v;
  napi_create_int32(env, r >= 0 ? (int32_t)r : -e, &v);
  return v;
}

static napi_value udp_test_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!atrium_args(env, info, 1, argv, UDP_ERR, "udpTestClose(fd)") || !atrium_int32_arg(env, argv[0], &fd, UDP_ERR)) return NULL;
  close(fd);
  return NULL;
}

#else /* not Linux: no sendmmsg */

static napi_value udp_unsupported(napi_env env, napi_callback_info info) {
  (void)info;
  return udp_throw(env, "sendmmsg batching is only built on Linux");
}
#define udp_send_batch udp_unsupported
#define udp_socket_info udp_unsupported
#define udp_test_socket udp_unsupported
#define udp_test_recv udp_unsupported
#define udp_test_close udp_unsupported

#endif

void atrium_udp_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "udpSendBatch", NULL, udp_send_batch, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpSocketInfo", NULL, udp_socket_info, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpTestSocket", NULL, udp_test_socket, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpTestRecv", NULL, udp_test_recv, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpTestClose", NULL, udp_test_close, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_value supported;
#ifdef __linux__
  napi_get_boolean(env, true, &supported);
#else
  napi_get_boolean(env, false, &supported);
#endif
  napi_set_named_property(env, exports, "udpSupported", supported);
}
