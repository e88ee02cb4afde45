// Optional native SRTP/SRTCP crypto for @atrium/webrtc: AES-GCM (RFC 7714) and AES-CM + HMAC-SHA1 (RFC 3711): one OpenSSL EVP context per key and
// direction, created once per SRTP session and re-used for every packet (only the IV changes), writing into
// buffers the caller provides. It uses the OpenSSL that the node binary itself exports (no libssl/libcrypto link):
// the symbols resolve against the running node when the addon is loaded. Loaded by src/srtp/native.ts, which
// runs known-answer vectors before using it and falls back to the TypeScript path otherwise.
// API (all Buffers; lengths are checked here, a violation throws a RangeError/TypeError):
//   gcmCreate(key)                                    -> handle (key of 16 or 32 bytes: AES-128/256-GCM)
//   gcmSeal(handle, iv12, src, aadLength, out, extraAad|null)
//       AAD = src[0, aadLength) | extraAad; plaintext = src[aadLength, src.length).
//       out[0, aadLength) = src's AAD bytes, then the ciphertext, then the 16-byte tag at out[src.length].
//   gcmOpen(handle, iv12, buf, aadLength, end, extraAad|null) -> boolean
//       AAD = buf[0, aadLength) | extraAad; ciphertext = buf[aadLength, end); tag = buf[end, end + 16).
//       On success the plaintext replaces the ciphertext in place; on failure buf is left unmodified.
//   cmCreate(key, authKey)                            -> handle (AES-128/256 counter mode key, HMAC-SHA1 key)
//   cmSeal(handle, iv16, src, encStart, out, authLength, authExtra|null)
//       out[0, encStart) = src[0, encStart); out[encStart, src.length) = src's bytes XOR the keystream from iv16;
//       out[authLength, authLength + 10) = HMAC-SHA1(out[0, authLength) | authExtra) truncated to 80 bits.
//       authLength >= src.length; bytes of out between src.length and authLength are the caller's (SRTCP E|index).
//   cmOpen(handle, iv16, buf, encStart, encEnd, authLength, authExtra|null, decrypt) -> boolean
//       Checks buf[authLength, authLength + 10) against HMAC-SHA1(buf[0, authLength) | authExtra) in constant
//       time; if it matches and decrypt is true, buf[encStart, encEnd) is decrypted in place. buf is left
//       unmodified when the tag does not match.
#define NAPI_VERSION 8
#include "atrium_napi.h"
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#define SRTP_ERR "ERR_ATRIUM_NATIVE_SRTP"
#define GCM_TAG 16
#define GCM_IV 12
#define CM_IV 16
#define CM_TAG 10 /* HMAC-SHA1-80 */
#define SHA1_LEN 20

/* Each handle's struct starts with its kind, checked before use, so a handle of one kind passed where the other
   is expected is a TypeError rather than memory misread. */
enum { KIND_GCM = 0x47434d31, KIND_CM = 0x434d3031 };

typedef struct {
  int kind;
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
  unsigned char *scratch; /* decryption output, copied over the ciphertext only once the tag verified */
  size_t scratch_size;
} gcm_state;

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, SRTP_ERR, msg);
  return NULL;
}

static int buffer_arg(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  bool is_buffer = false;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, SRTP_ERR, "expected a Buffer");
    return 0;
  }
  void *p = NULL;
  if (napi_get_buffer_info(env, v, &p, len) != napi_ok) return 0;
  *data = (unsigned char *)p;
  return 1;
}

/* null/undefined -> empty; otherwise a Buffer. */
static int optional_buffer_arg(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_null || t == napi_undefined) {
    *data = NULL;
    *len = 0;
    return 1;
  }
  return buffer_arg(env, v, data, len);
}

static int uint_arg(napi_env env, napi_value v, size_t *out) {
  uint32_t n = 0;
  if (napi_get_value_uint32(env, v, &n) != napi_ok) {
    napi_throw_type_error(env, SRTP_ERR, "expected a non-negative integer");
    return 0;
  }
  *out = n;
  return 1;
}

/* The state behind a handle from gcmCreate (KIND_GCM) or cmCreate (KIND_CM); NULL (TypeError thrown) otherwise. */
static void *handle_arg(napi_env env, napi_value v, int kind) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok || p == NULL ||
      *(int *)p != kind) {
    napi_throw_type_error(env, SRTP_ERR, kind == KIND_GCM ? "expected a handle from gcmCreate" : "expected a handle from cmCreate");
    return NULL;
  }
  return p;
}

static void gcm_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  gcm_state *s = (gcm_state *)data;
  EVP_CIPHER_CTX_free(s->enc);
  EVP_CIPHER_CTX_free(s->dec);
  free(s->scratch);
  free(s);
}

static napi_value gcm_create(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!atrium_args(env, info, 1, argv, SRTP_ERR, "gcmCreate(key)")) return NULL;
  unsigned char *key;
  size_t key_len;
  if (!buffer_arg(env, argv[0], &key, &key_len)) return NULL;
  const EVP_CIPHER *cipher = key_len == 16 ? EVP_aes_128_gcm() : key_len == 32 ? EVP_aes_256_gcm() : NULL;
  if (cipher == NULL) return throw_range(env, "AES-GCM key must be 16 or 32 bytes");
  gcm_state *s = (gcm_state *)calloc(1, sizeof(gcm_state));
  if (s == NULL) return throw_range(env, "out of memory");
  s->kind = KIND_GCM;
  s->enc = EVP_CIPHER_CTX_new();
  s->dec = EVP_CIPHER_CTX_new();
  s->scratch_size = 2048;
  s->scratch = (unsigned char *)malloc(s->scratch_size);
  /* Cipher first, then the IV length (12 is GCM's default; set it explicitly), then the key. */
  if (s->enc == NULL || s->dec == NULL || s->scratch == NULL ||
      EVP_EncryptInit_ex(s->enc, cipher, NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->enc, EVP_CTRL_GCM_SET_IVLEN, GCM_IV, NULL) != 1 ||
      EVP_EncryptInit_ex(s->enc, NULL, NULL, key, NULL) != 1 ||
      EVP_DecryptInit_ex(s->dec, cipher, NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->dec, EVP_CTRL_GCM_SET_IVLEN, GCM_IV, NULL) != 1 ||
      EVP_DecryptInit_ex(s->dec, NULL, NULL, key, NULL) != 1) {
    gcm_free(env, s, NULL);
    return throw_range(env, "OpenSSL could not set up AES-GCM");
  }
  napi_value handle;
  if (napi_create_external(env, s, gcm_free, NULL, &handle) != napi_ok) {
    gcm_free(env, s, NULL);
    return NULL;
  }
  return handle;
}

static napi_value gcm_seal(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!atrium_args(env, info, 6, argv, SRTP_ERR, "gcmSeal(handle, iv, src, aadLength, out, extraAad)")) return NULL;
  gcm_state *s = (gcm_state *)handle_arg(env, argv[0], KIND_GCM);
  unsigned char *iv, *src, *out, *extra;
  size_t iv_len, src_len, aad_len, out_len, extra_len;
  if (s == NULL || !buffer_arg(env, argv[1], &iv, &iv_len) || !buffer_arg(env, argv[2], &src, &src_len) ||
      !uint_arg(env, argv[3], &aad_len) || !buffer_arg(env, argv[4], &out, &out_len) ||
      !optional_buffer_arg(env, argv[5], &extra, &extra_len)) return NULL;
  if (iv_len != GCM_IV) return throw_range(env, "IV must be 12 bytes");
  if (aad_len > src_len) return throw_range(env, "aadLength beyond the packet");
  if (out_len < src_len + GCM_TAG) return throw_range(env, "output buffer too short");
  int len = 0;
  size_t text_len = src_len - aad_len;
  if (EVP_EncryptInit_ex(s->enc, NULL, NULL, NULL, iv) != 1) return throw_range(env, "EVP_EncryptInit_ex failed");
  if (aad_len > 0 && EVP_EncryptUpdate(s->enc, NULL, &len, src, (int)aad_len) != 1) return throw_range(env, "AAD failed");
  if (extra_len > 0 && EVP_EncryptUpdate(s->enc, NULL, &len, extra, (int)extra_len) != 1) return throw_range(env, "AAD failed");
  if (out != src) memmove(out, src, aad_len);
  if (text_len > 0 && EVP_EncryptUpdate(s->enc, out + aad_len, &len, src + aad_len, (int)text_len) != 1) {
    return throw_range(env, "encryption failed");
  }
  if (EVP_EncryptFinal_ex(s->enc, out + src_len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->enc, EVP_CTRL_GCM_GET_TAG, GCM_TAG, out + src_len) != 1) {
    return throw_range(env, "encryption failed");
  }
  return NULL;
}

static napi_value gcm_open(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!atrium_args(env, info, 6, argv, SRTP_ERR, "gcmOpen(handle, iv, buf, aadLength, end, extraAad)")) return NULL;
  gcm_state *s = (gcm_state *)handle_arg(env, argv[0], KIND_GCM);
  unsigned char *iv, *buf, *extra;
  size_t iv_len, buf_len, aad_len, end, extra_len;
  if (s == NULL || !buffer_arg(env, argv[1], &iv, &iv_len) || !buffer_arg(env, argv[2], &buf, &buf_len) ||
      !uint_arg(env, argv[3], &aad_len) || !uint_arg(env, argv[4], &end) ||
      !optional_buffer_arg(env, argv[5], &extra, &extra_len)) return NULL;
  if (iv_len != GCM_IV) return throw_range(env, "IV must be 12 bytes");
  if (aad_len > end || end > buf_len || buf_len - end < GCM_TAG) return throw_range(env, "lengths beyond the packet");
  size_t text_len = end - aad_len;
  if (text_len > s->scratch_size) {
    unsigned char *bigger = (unsigned char *)realloc(s->scratch, text_len);
    if (bigger == NULL) return throw_range(env, "out of memory");
    s->scratch = bigger;
    s->scratch_size = text_len;
  }
  int len = 0;
  int ok = EVP_DecryptInit_ex(s->dec, NULL, NULL, NULL, iv) == 1 &&
           (aad_len == 0 || EVP_DecryptUpdate(s->dec, NULL, &len, buf, (int)aad_len) == 1) &&
           (extra_len == 0 || EVP_DecryptUpdate(s->dec, NULL, &len, extra, (int)extra_len) == 1) &&
           (text_len == 0 || EVP_DecryptUpdate(s->dec, s->scratch, &len, buf + aad_len, (int)text_len) == 1) &&
           EVP_CIPHER_CTX_ctrl(s->dec, EVP_CTRL_GCM_SET_TAG, GCM_TAG, buf + end) == 1 &&
           EVP_DecryptFinal_ex(s->dec, s->scratch + text_len, &len) == 1;
  if (ok && text_len > 0) memcpy(buf + aad_len, s->scratch, text_len);
  napi_value result;
  napi_get_boolean(env, ok ? true : false, &result);
  return result;
}

/* ---- AES-CM + HMAC-SHA1-80 ---- */

typedef struct {
  int kind;
  EVP_CIPHER_CTX *ctr; /* keyed once; each packet sets its IV (the counter block) */
  EVP_MAC_CTX *hmac;   /* keyed once; EVP_MAC_init with a NULL key restarts it with the same key */
} cm_state;

static void cm_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  cm_state *s = (cm_state *)data;
  EVP_CIPHER_CTX_free(s->ctr);
  EVP_MAC_CTX_free(s->hmac);
  free(s);
}

static napi_value cm_create(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!atrium_args(env, info, 2, argv, SRTP_ERR, "cmCreate(key, authKey)")) return NULL;
  unsigned char *key, *auth_key;
  size_t key_len, auth_key_len;
  if (!buffer_arg(env, argv[0], &key, &key_len) || !buffer_arg(env, argv[1], &auth_key, &auth_key_len)) return NULL;
  const EVP_CIPHER *cipher = key_len == 16 ? EVP_aes_128_ctr() : key_len == 32 ? EVP_aes_256_ctr() : NULL;
  if (cipher == NULL) return throw_range(env, "AES-CM key must be 16 or 32 bytes");
  if (auth_key_len == 0) return throw_range(env, "HMAC-SHA1 key must not be empty");
  cm_state *s = (cm_state *)calloc(1, sizeof(cm_state));
  if (s == NULL) return throw_range(env, "out of memory");
  s->kind = KIND_CM;
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  s->ctr = EVP_CIPHER_CTX_new();
  s->hmac = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
  EVP_MAC_free(mac); /* the context holds its own reference */
  char digest[] = "SHA1";
  OSSL_PARAM params[2];
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
  params[1] = OSSL_PARAM_construct_end();
  if (s->ctr == NULL || s->hmac == NULL || EVP_EncryptInit_ex(s->ctr, cipher, NULL, key, NULL) != 1 ||
      EVP_MAC_init(s->hmac, auth_key, auth_key_len, params) != 1 || EVP_MAC_CTX_get_mac_size(s->hmac) != SHA1_LEN) {
    cm_free(env, s, NULL);
    return throw_range(env, "OpenSSL could not set up AES-CM / HMAC-SHA1");
  }
  napi_value handle;
  if (napi_create_external(env, s, cm_free, NULL, &handle) != napi_ok) {
    cm_free(env, s, NULL);
    return NULL;
  }
  return handle;
}

/* HMAC-SHA1(data[0, len) | extra) into mac (20 bytes). */
static int cm_hmac(cm_state *s, const unsigned char *data, size_t len, const unsigned char *extra, size_t extra_len,
                   unsigned char *mac) {
  size_t out_len = 0;
  return EVP_MAC_init(s->hmac, NULL, 0, NULL) == 1 && EVP_MAC_update(s->hmac, data, len) == 1 &&
         (extra_len == 0 || EVP_MAC_update(s->hmac, extra, extra_len) == 1) &&
         EVP_MAC_final(s->hmac, mac, &out_len, SHA1_LEN) == 1 && out_len == SHA1_LEN;
}

/* XOR data[0, len) (into out) with the AES-CM keystream starting at counter block iv. */
static int cm_ctr(cm_state *s, const unsigned char *iv, const unsigned char *in, unsigned char *out, size_t len) {
  int n = 0;
  return EVP_EncryptInit_ex(s->ctr, NULL, NULL, NULL, iv) == 1 && (len == 0 || EVP_EncryptUpdate(s->ctr, out, &n, in, (int)len) == 1);
}

static napi_value cm_seal(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!atrium_args(env, info, 7, argv, SRTP_ERR, "cmSeal(handle, iv, src, encStart, out, authLength, authExtra)")) return NULL;
  cm_state *s = (cm_state *)handle_arg(env, argv[0], KIND_CM);
  unsigned char *iv, *src, *out, *extra;
  size_t iv_len, src_len, enc_start, out_len, auth_len, extra_len;
  if (s == NULL || !buffer_arg(env, argv[1], &iv, &iv_len) || !buffer_arg(env, argv[2], &src, &src_len) ||
      !uint_arg(env, argv[3], &enc_start) || !buffer_arg(env, argv[4], &out, &out_len) ||
      !uint_arg(env, argv[5], &auth_len) || !optional_buffer_arg(env, argv[6], &extra, &extra_len)) return NULL;
  if (iv_len != CM_IV) return throw_range(env, "IV must be 16 bytes");
  if (enc_start > src_len || auth_len < src_len || out_len < auth_len + CM_TAG) return throw_range(env, "lengths beyond the packet");
  if (out != src) memmove(out, src, enc_start);
  unsigned char mac[SHA1_LEN];
  if (!cm_ctr(s, iv, src + enc_start, out + enc_start, src_len - enc_start) || !cm_hmac(s, out, auth_len, extra, extra_len, mac)) {
    return throw_range(env, "AES-CM / HMAC-SHA1 failed");
  }
  memcpy(out + auth_len, mac, CM_TAG);
  return NULL;
}

static napi_value cm_open(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!atrium_args(env, info, 8, argv, SRTP_ERR, "cmOpen(handle, iv, buf, encStart, encEnd, authLength, authExtra, decrypt)")) return NULL;
  cm_state *s = (cm_state *)handle_arg(env, argv[0], KIND_CM);
  unsigned char *iv, *buf, *extra;
  size_t iv_len, buf_len, enc_start, enc_end, auth_len, extra_len;
  bool decrypt = false;
  if (s == NULL || !buffer_arg(env, argv[1], &iv, &iv_len) || !buffer_arg(env, argv[2], &buf, &buf_len) ||
      !uint_arg(env, argv[3], &enc_start) || !uint_arg(env, argv[4], &enc_end) || !uint_arg(env, argv[5], &auth_len) ||
      !optional_buffer_arg(env, argv[6], &extra, &extra_len)) return NULL;
  if (napi_get_value_bool(env, argv[7], &decrypt) != napi_ok) {
    napi_throw_type_error(env, SRTP_ERR, "decrypt must be a boolean");
    return NULL;
  }
  if (iv_len != CM_IV) return throw_range(env, "IV must be 16 bytes");
  if (enc_start > enc_end || enc_end > auth_len || auth_len > buf_len || buf_len - auth_len < CM_TAG) {
    return throw_range(env, "lengths beyond the packet");
  }
  unsigned char mac[SHA1_LEN];
  int ok = cm_hmac(s, buf, auth_len, extra, extra_len, mac) && CRYPTO_memcmp(mac, buf + auth_len, CM_TAG) == 0;
  if (ok && decrypt && !cm_ctr(s, iv, buf + enc_start, buf + enc_start, enc_end - enc_start)) return throw_range(env, "AES-CM failed");
  napi_value result;
  napi_get_boolean(env, ok ? true : false, &result);
  return result;
}

/* atrium_udp.c: batched UDP sending (sendmmsg) in the same addon. */
void atrium_udp_register(napi_env env, napi_value exports);
/* atrium_udp_recv.c: batched UDP receiving (recvmmsg). */
void atrium_udp_recv_register(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "gcmCreate", NULL, gcm_create, NULL, NULL, NULL, napi_enumerable, NULL },
    { "gcmSeal", NULL, gcm_seal, NULL, NULL, NULL, napi_enumerable, NULL },
    { "gcmOpen", NULL, gcm_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "cmCreate", NULL, cm_create, NULL, NULL, NULL, napi_enumerable, NULL },
    { "cmSeal", NULL, cm_seal, NULL, NULL, NULL, napi_enumerable, NULL },
    { "cmOpen", NULL, cm_open, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_value version;
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &version);
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_set_named_property(env, exports, "openssl", version);
  atrium_udp_register(env, exports);
  atrium_udp_recv_register(env, exports);
  return exports;
}

NAPI_MODULE_INIT() {
  return init(env, exports);
}
