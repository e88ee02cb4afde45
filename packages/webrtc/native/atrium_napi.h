// Argument helpers shared by the addon's C files (atrium_srtp.c, atrium_udp.c, atrium_udp_recv.c). Each file passes
// its own error code (ERR_ATRIUM_NATIVE_SRTP, ERR_ATRIUM_NATIVE_UDP) so a JavaScript caller can tell them apart.
#ifndef ATRIUM_NAPI_H
#define ATRIUM_NAPI_H

#include <node_api.h>
#include <stdint.h>

/* The call's first `n` arguments into argv; 0 if fewer (a RangeError with `code` naming `usage` is thrown) or if
   N-API failed (its error is pending). */
static inline int atrium_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *code,
                              const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < n) {
    napi_throw_range_error(env, code, usage);
    return 0;
  }
  return 1;
}

/* A 32-bit integer argument; 0 (TypeError with `code` thrown) if it is not a number. */
static inline int atrium_int32_arg(napi_env env, napi_value v, int32_t *out, const char *code) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, code, "expected an integer");
    return 0;
  }
  return 1;
}

#endif
