#include "secret.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common.h"

int zsec_init(void) { return sodium_init() < 0 ? ZEN_ERR : ZEN_OK; }

/* The request-id generator of the calling thread. Per thread, so no lock;
 * a fork's child handler clears the forking thread's (the only one a child
 * has), so a worker never repeats its supervisor's or a sibling's ids. */
static _Thread_local struct {
    unsigned char key[crypto_shorthash_KEYBYTES];
    uint64_t counter;
    int keyed;
} rid;
static pthread_once_t rid_atfork_once = PTHREAD_ONCE_INIT;

static void rid_forget(void)
{
    sodium_memzero(&rid, sizeof(rid));
}

static void rid_register_atfork(void) { (void)pthread_atfork(NULL, NULL, rid_forget); }

void zsec_request_id(char out[ZSEC_REQUEST_ID_LEN])
{
    if (!rid.keyed) {
        (void)pthread_once(&rid_atfork_once, rid_register_atfork);
        randombytes_buf(rid.key, sizeof(rid.key));
        rid.keyed = 1;
    }
    unsigned char in[8], h[crypto_shorthash_BYTES];
    uint64_t n = rid.counter++;
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(n >> (8 * i));
    crypto_shorthash(h, in, sizeof(in), rid.key);
    sodium_bin2hex(out, ZSEC_REQUEST_ID_LEN, h, sizeof(h));
}

void zsec_fingerprint(const void *data, size_t len, char out[ZSEC_FINGERPRINT_LEN])
{
    unsigned char h[8];
    crypto_generichash(h, sizeof(h), data, len, NULL, 0);
    sodium_bin2hex(out, ZSEC_FINGERPRINT_LEN, h, sizeof(h));
}

void zsec_hash_key(const char *key, uint8_t out[ZSEC_KEY_HASH_BYTES])
{
    crypto_generichash(out, ZSEC_KEY_HASH_BYTES, (const unsigned char *)key, strlen(key), NULL,
                       0);
}

void zsec_wipe(void *p, size_t n) { sodium_memzero(p, n); }

void zsec_free(char *secret)
{
    if (!secret)
        return;
    sodium_memzero(secret, strlen(secret));
    free(secret);
}

char *zsec_secure_strdup(const char *s)
{
    size_t len = strlen(s);
    char *copy = sodium_malloc(len + 1);
    if (!copy) {
        fprintf(stderr, "zend: out of memory for a secret\n");
        abort();
    }
    memcpy(copy, s, len + 1);
    /* libsodium asks for MADV_DONTDUMP too when built with madvise; asking
     * again over the pages the copy spans makes it independent of that. */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)copy & ~(page - 1);
    uintptr_t end = ((uintptr_t)copy + len + 1 + page - 1) & ~(page - 1);
    (void)madvise((void *)start, end - start, MADV_DONTDUMP);
    return copy;
}

void zsec_secure_free(char *secret)
{
    if (secret)
        sodium_free(secret); /* wipes the whole region before unmapping */
}

int zsec_protect_process(void)
{
    const char *allow = getenv(ZSEC_ALLOW_CORE_ENV);
    if (allow && strcmp(allow, "1") == 0)
        return 1;
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    return 0;
}
