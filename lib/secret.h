/* secret.h -- randomness, fingerprints and secret hygiene (libsodium).
 *
 * Tokens never leave the process except toward their provider: logs and RPC
 * show a short BLAKE2b fingerprint instead, and the bytes are wiped with
 * sodium_memzero before their memory is freed. */
#ifndef ZEN_SECRET_H
#define ZEN_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define ZSEC_FINGERPRINT_LEN 17 /* 16 hex chars + NUL */
#define ZSEC_REQUEST_ID_LEN 17  /* 16 hex chars + NUL */
#define ZSEC_KEY_HASH_BYTES 32

/* Calls sodium_init once; returns ZEN_ERR if libsodium cannot start. */
int zsec_init(void);
/* Writes a fresh request id, 16 hex chars + NUL: SipHash-2-4
 * (crypto_shorthash) of a counter under a random key that each thread draws
 * on its first id, and a forked child draws anew. Unguessable without the
 * key and as unlikely to repeat as 64 random bits, at no system call per id
 * (randombytes_buf costs a getrandom(2) per call). */
void zsec_request_id(char out[ZSEC_REQUEST_ID_LEN]);
/* 16-hex-char BLAKE2b fingerprint of len bytes. */
void zsec_fingerprint(const void *data, size_t len, char out[ZSEC_FINGERPRINT_LEN]);
/* BLAKE2b-256 of a client access key, compared later with sodium_memcmp. */
void zsec_hash_key(const char *key, uint8_t out[ZSEC_KEY_HASH_BYTES]);
/* Wipes a NUL-terminated secret in place and frees it; NULL is fine. */
void zsec_free(char *secret);
/* Wipes n bytes in place. */
void zsec_wipe(void *p, size_t n);

/* A copy of a token in memory kept out of core dumps (MADV_DONTDUMP), out
 * of swap where mlock is allowed, and between guard pages (sodium_malloc).
 * Aborts when out of memory, like the config loader's other copies. Free it
 * with zsec_secure_free only. */
char *zsec_secure_strdup(const char *s);
/* Wipes and unmaps a zsec_secure_strdup copy; NULL is fine. */
void zsec_secure_free(char *secret);

/* Setting it to 1 lets zend dump core (for debugging a crash); tokens stay
 * out of the dump either way. */
#define ZSEC_ALLOW_CORE_ENV "ZEND_ALLOW_CORE"
/* Marks the process not dumpable (no core, no ptrace by other processes of
 * the same user, /proc/PID files owned by root) unless ZEND_ALLOW_CORE=1.
 * Inherited by forked workers. Returns 1 if cores stay allowed. */
int zsec_protect_process(void);

#endif
