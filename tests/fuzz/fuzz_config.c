/* fuzz_config.c -- libFuzzer harness for config loading (lib/config.c).
 *
 * The input is a zen.json. It goes through zcfg_load_buffer, the path every
 * load and reload takes after reading the file. Invariants checked besides
 * the sanitizers:
 *   - a refusal always says why (err is not empty);
 *   - an accepted config is self-consistent: every profile's providers are
 *     valid indices, every provider and profile is found by its own name,
 *     and the listen port is in range;
 *   - loading is deterministic: the same bytes load again to the same hash
 *     and the same verdict;
 *   - the effective config (`zenctl config`) lists each key once, each
 *     with a source, and never the resolved env token. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "config.h"
#include "secret.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_config: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (zsec_init() != ZEN_OK)
        abort();
    /* One env:NAME token that resolves, one that does not. */
    setenv("ZEN_FUZZ_TOKEN", "sk-fuzz-token", 1);
    unsetenv("ZEN_FUZZ_MISSING");
    return 0;
}

static void check_consistent(const struct zcfg *cfg)
{
    check(cfg->refs == 1, "a fresh config has one reference");
    check(cfg->path && strcmp(cfg->path, "fuzz.json") == 0, "the name is kept");
    check(strlen(cfg->hash) == ZCFG_HASH_LEN - 1, "hash is 16 hex chars");
    check(cfg->daemon.listen_port >= 0 && cfg->daemon.listen_port <= 65535, "port in range");
    check(cfg->notes && json_is_array(cfg->notes), "notes is an array");
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const struct zcfg_provider *p = &cfg->providers[i];
        check(p->name && p->base_url, "a provider has a name and a base URL");
        check(zcfg_find_provider(cfg, p->name) == p, "a provider is found by its name");
        for (size_t h = 0; h < p->n_env_headers; h++)
            check(p->env_headers[h].name && p->env_headers[h].value, "env headers are set");
    }
    for (size_t i = 0; i < cfg->n_profiles; i++) {
        const struct zcfg_profile *pr = &cfg->profiles[i];
        check(pr->name != NULL, "a profile has a name");
        check(zcfg_find_profile(cfg, pr->name) == pr, "a profile is found by its name");
        for (size_t k = 0; k < pr->n_providers; k++)
            check(pr->providers[k] < cfg->n_providers, "profile providers are valid indices");
    }
    if (cfg->default_profile)
        check(zcfg_find_profile(cfg, cfg->default_profile) != NULL,
              "the default profile exists");
}

/* input: the zen.json bytes, which may hold the token's text themselves
 * (in a base_url, say): only then may the list show it. */
static void check_effective(const struct zcfg *cfg, const uint8_t *input, size_t size)
{
    static const char token[] = "sk-fuzz-token";
    json_t *list = zcfg_effective(cfg);
    check(json_is_array(list), "the effective config is a list");
    json_t *seen = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        check(key && json_string_value(json_object_get(e, "source")), "key and source");
        /* A path cut short ("...", names of hundreds of bytes) may repeat. */
        size_t len = strlen(key);
        check(json_object_get(seen, key) == NULL || (len > 3 && !strcmp(key + len - 3, "...")),
              "each key once");
        json_object_set_new(seen, key, json_true());
    }
    char *text = json_dumps(list, JSON_COMPACT);
    check(text && (!strstr(text, token) || memmem(input, size, token, strlen(token))),
          "no env token in the effective config");
    free(text);
    json_decref(seen);
    json_decref(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    struct zcfg *cfg = zcfg_load_buffer("fuzz.json", (const char *)data, size, err, sizeof(err));
    if (!cfg) {
        check(err[0] != '\0', "a refused config says why");
        return 0;
    }
    check_consistent(cfg);
    check_effective(cfg, data, size);

    char err2[512] = "";
    struct zcfg *again =
        zcfg_load_buffer("fuzz.json", (const char *)data, size, err2, sizeof(err2));
    check(again != NULL, "the same bytes load again");
    check(strcmp(again->hash, cfg->hash) == 0, "the same bytes hash the same");
    check(again->n_providers == cfg->n_providers && again->n_profiles == cfg->n_profiles,
          "the same bytes give the same config");

    /* References: the last unref frees (LeakSanitizer checks). */
    check(zcfg_ref(again) == again, "ref returns the config");
    zcfg_unref(again);
    zcfg_unref(again);
    zcfg_unref(cfg);
    return 0;
}
