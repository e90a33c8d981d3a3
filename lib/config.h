/* config.h -- zen.json: GoZen's subset plus zend's `daemon` section (docs/config.md).
 *
 * Loading is parse -> validate -> build an immutable, reference-counted
 * object; a reload swaps a pointer and in-flight work keeps the object it
 * started with. Errors name file:line:col (syntax, duplicate keys) or the
 * JSON path (`providers.relay.base_url: not an http(s) URL`).
 *
 * The loader never logs: what the daemon should say about a config it
 * accepted (ignored keys, missing env tokens, loose permissions) is returned
 * as `notes`, a JSON array of {level, event, fields}, for the caller to emit. */
#ifndef ZEN_CONFIG_H
#define ZEN_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "secret.h"

#define ZCFG_DEFAULT_PORT 19841
#define ZCFG_HOST_MAX 256
#define ZCFG_HASH_LEN 17
/* Fixed-size tables downstream: provider state tracks at most
 * ZCFG_MAX_PROVIDERS providers, and one request tries at most
 * ZCFG_MAX_PROFILE_PROVIDERS of a profile's list. A config beyond either is
 * refused at load rather than silently cut short. */
#define ZCFG_MAX_PROVIDERS 256
#define ZCFG_MAX_PROFILE_PROVIDERS 32

enum zcfg_provider_type { ZCFG_TYPE_ANTHROPIC, ZCFG_TYPE_OPENAI };
enum zcfg_auth_header { ZCFG_AUTH_BOTH, ZCFG_AUTH_X_API_KEY, ZCFG_AUTH_BEARER };
/* Which OpenAI API an openai provider is spoken to in (docs/translate.md). */
enum zcfg_openai_api { ZCFG_OPENAI_AUTO, ZCFG_OPENAI_CHAT, ZCFG_OPENAI_RESPONSES };
/* What a request translated to Anthropic asks for when its client wants reasoning. */
enum zcfg_thinking_mode { ZCFG_THINKING_BUDGET, ZCFG_THINKING_ADAPTIVE };
#define ZCFG_DEFAULT_MAX_TOKENS 32000
#define ZCFG_MAX_DEFAULT_MAX_TOKENS 1000000

struct zcfg_header {
    char *name;  /* already lowercased: x-env-claude-code-max-output-tokens */
    char *value;
};

struct zcfg_provider {
    char *name;
    int type;          /* enum zcfg_provider_type */
    char *base_url;    /* without a trailing '/' */
    char *auth_token;  /* secret (wiped on release); NULL = passthrough auth */
    char *token_env;   /* NAME of an env:NAME token, else NULL */
    char token_fingerprint[ZSEC_FINGERPRINT_LEN]; /* "" when passthrough */
    int auth_header;   /* enum zcfg_auth_header */
    char *model, *sonnet_model, *opus_model, *haiku_model, *reasoning_model; /* NULL = unset */
    char *proxy_url;   /* NULL = direct */
    char *ca_file;     /* NULL = system store */
    struct zcfg_header *env_headers;
    size_t n_env_headers;
    /* translation (docs/translate.md) */
    int openai_api;            /* enum zcfg_openai_api */
    int max_tokens_legacy;     /* max_tokens_field "max_tokens" (else max_completion_tokens) */
    int64_t default_max_tokens; /* max_tokens sent to Anthropic when the client set none */
    int thinking_mode;         /* enum zcfg_thinking_mode */
    int drop_sampling;         /* never send temperature/top_p/top_k to Anthropic */
    int64_t weight;            /* GoZen's `weight` (weighted strategy); 0 = unset */
};

/* Routing (docs/routing.md): how a profile orders its providers. */
enum zcfg_strategy {
    ZCFG_STRATEGY_FAILOVER,
    ZCFG_STRATEGY_ROUND_ROBIN,
    ZCFG_STRATEGY_WEIGHTED,
    ZCFG_STRATEGY_LEAST_LATENCY,
    ZCFG_STRATEGY_LEAST_COST,
};
/* Request scenarios, in the default priority order (highest first). */
enum zcfg_scenario {
    ZCFG_SCENARIO_WEB_SEARCH,
    ZCFG_SCENARIO_THINK,
    ZCFG_SCENARIO_IMAGE,
    ZCFG_SCENARIO_LONG_CONTEXT,
    ZCFG_SCENARIO_CODE,
    ZCFG_SCENARIO_BACKGROUND,
    ZCFG_SCENARIO_DEFAULT,
    ZCFG_N_SCENARIOS
};
#define ZCFG_DEFAULT_LONG_CONTEXT_THRESHOLD 32000

/* One provider of a scenario route, with its optional model override (used
 * verbatim, no tier mapping). */
struct zcfg_route_provider {
    size_t provider;   /* index into zcfg.providers */
    char *model;       /* NULL = the request's own model, tier-mapped */
};

/* A scenario route of a profile (`routing.<scenario>`). */
struct zcfg_route {
    int present;
    struct zcfg_route_provider *providers; size_t n_providers;
    int strategy;                   /* enum zcfg_strategy */
    int64_t *weights;               /* per zcfg.providers index; -1 = not set here */
    int64_t long_context_threshold; /* -1 = the profile's */
    int fallback_to_default;        /* default 1 */
    int session_affinity;           /* -1 = the profile's */
};

struct zcfg_profile {
    char *name;
    size_t *providers; /* indices into zcfg.providers, in failover order */
    size_t n_providers;
    char *strategy;    /* as written (normalised: "failover" when absent) */
    int strategy_kind; /* enum zcfg_strategy */
    int64_t *weights;  /* provider_weights per zcfg.providers index; -1 = not set */
    int64_t long_context_threshold;
    int scenario_order[ZCFG_N_SCENARIOS]; /* scenario_priority, then the default order */
    int session_affinity;                 /* default 1 */
    struct zcfg_route routes[ZCFG_N_SCENARIOS];
    int has_routes;
};

struct zcfg_disabled {
    char *name;
    char *type;          /* GoZen's label ("today", "permanent", ...), may be NULL */
    int64_t expires_at;  /* epoch seconds; 0 = until removed */
};

struct zcfg_daemon {
    char listen_host[ZCFG_HOST_MAX]; /* numeric address */
    int listen_port;
    int64_t max_concurrent;
    int64_t queue_timeout_ms;
    int64_t connect_timeout_ms;
    int64_t first_byte_timeout_ms;
    int64_t idle_timeout_ms;
    int64_t total_timeout_ms;
    int64_t retry_same_provider;
    int64_t max_retry_wait_ms;
    int64_t cooldown_initial_ms, cooldown_max_ms;
    int64_t auth_cooldown_initial_ms, auth_cooldown_max_ms;
    int64_t probe_interval_ms;
    int64_t max_header_bytes;
    int64_t max_body_bytes;
    int64_t max_body_bytes_total; /* all request bodies received or held at once */
    int64_t client_header_timeout_ms, client_body_timeout_ms, keepalive_timeout_ms;
    int64_t client_body_total_timeout_ms; /* the whole body, not just each gap */
    int64_t drain_timeout_ms;
    int64_t slow_request_ms;
    int64_t commit_timeout_ms;   /* streams: longest hold before the client's head is sent */
    int access_log;      /* request_completed at info for every request */
    int log_level;       /* enum zlog_level */
    char *log_file;      /* relative to ZEN_HOME; "" = no file */
    int64_t log_max_bytes;
    int64_t log_keep;
    int64_t log_ring;
    int64_t restart_max, restart_window_s;
    int64_t restart_backoff_initial_ms, restart_backoff_max_ms;
    int64_t health_max_rss_mb;
    double health_max_fd_ratio;
    char **allowed_hosts;   size_t n_allowed_hosts;
    char **allowed_origins; size_t n_allowed_origins;
    uint8_t (*access_key_hashes)[ZSEC_KEY_HASH_BYTES]; size_t n_access_keys;
    int allow_remote_without_keys; /* listen beyond loopback with no access_keys */
    /* The read-only control socket (docs/operations.md): user and group
     * names allowed there, and its absolute path (NULL = no such socket). */
    char **control_readers; size_t n_control_readers;
    char *control_read_socket;
    /* daemon.usage (docs/usage.md): the ledger on/off, and how many days of
     * rows it keeps (0 = all). */
    int usage_enabled;
    int64_t usage_retention_days;
};

/* One entry of GoZen's `pricing` (docs/usage.md, "Prices"): USD per million
 * tokens. The cache rates default to 10 % and 125 % of input (Anthropic's
 * ratios) when not written. */
struct zcfg_price {
    char *model;
    double input_per_million, output_per_million;
    double cache_read_per_million, cache_write_per_million;
};

/* GoZen's `budgets` (docs/usage.md, "Budgets"): per period (enum
 * budget_period order: daily, weekly, monthly) an amount in USD and an
 * action, applied globally or, with per_project, per profile. */
enum zcfg_budget_action { ZCFG_BUDGET_WARN, ZCFG_BUDGET_DOWNGRADE, ZCFG_BUDGET_BLOCK };
#define ZCFG_BUDGET_PERIODS 3
struct zcfg_budget {
    int set;            /* this period has a limit */
    double amount;      /* USD, > 0 */
    int action;         /* enum zcfg_budget_action */
};
struct zcfg_budgets {
    struct zcfg_budget period[ZCFG_BUDGET_PERIODS];
    int per_project;
};
/* "warn", "downgrade", "block". */
const char *zcfg_budget_action_name(int action);

struct zcfg_health_check {
    int enabled;
    int64_t interval_secs;
    int64_t timeout_secs;
};

struct zcfg {
    int refs;
    char *path;
    char hash[ZCFG_HASH_LEN];   /* BLAKE2b of the file bytes, 16 hex chars */
    int proxy_port;
    char *default_profile;      /* resolved: the named one, else "default", else NULL */
    struct zcfg_provider *providers; size_t n_providers;
    struct zcfg_profile *profiles;   size_t n_profiles;
    struct zcfg_disabled *disabled;  size_t n_disabled;
    struct zcfg_health_check health_check;
    struct zcfg_daemon daemon;
    struct zcfg_price *pricing;      size_t n_pricing;
    struct zcfg_budgets budgets;
    int has_literal_secret;     /* a token or access key written in the file itself */
    /* Every key the file set, as the JSON path its errors would name
     * ("daemon.listen", "providers.relay.auth_token"), mapped to true: what
     * tells a value from zen.json apart from a default (zcfg_effective). */
    json_t *file_keys;
    json_t *notes;              /* [{level, event, fields}] for the caller to log */
};

/* Loads and validates the file at path. On error returns NULL and writes
 * "path:line:col: message" or "path: json.path: message" into err. */
struct zcfg *zcfg_load_file(const char *path, char *err, size_t errlen);
/* Same from memory; `name` stands for the file in messages. */
struct zcfg *zcfg_load_buffer(const char *name, const char *data, size_t len, char *err,
                              size_t errlen);

struct zcfg *zcfg_ref(struct zcfg *cfg);
/* Drops a reference; the last one wipes secrets and frees everything. */
void zcfg_unref(struct zcfg *cfg);

const struct zcfg_provider *zcfg_find_provider(const struct zcfg *cfg, const char *name);
const struct zcfg_profile *zcfg_find_profile(const struct zcfg *cfg, const char *name);
/* Is the provider in disabled_providers with no expiry, or one not yet
 * passed at now_s (epoch seconds)? */
int zcfg_provider_disabled(const struct zcfg *cfg, const char *name, int64_t now_s);

/* The effective config for `zenctl config` (config_effective.c): every key
 * zend reads, default or not, in file order within each section, as
 * [{key, value, source}]. source is "zen.json" (the file set it), "default",
 * or for an auth_token "env" (with "variable": NAME); a token is never a
 * value: auth_token entries carry "fingerprint" (16 hex digits, null in
 * passthrough) and "auth" (zcfg_auth_mode), and their value is null. */
json_t *zcfg_effective(const struct zcfg *cfg);

/* A malloc'd copy of url with its user:password part, if it has one,
 * written as three asterisks before the '@': what a view may show of a
 * base_url or proxy_url. */
char *zcfg_url_redacted(const char *url);

/* How zend authenticates to the provider: "token" (a literal auth_token),
 * "env" (auth_token "env:NAME", read from the environment at load) or
 * "passthrough" (no token, or an env:NAME that was unset or empty: the
 * client's own key goes through). */
const char *zcfg_auth_mode(const struct zcfg_provider *p);

/* "failover", "round-robin", ... and back; -1 for an unknown name. */
const char *zcfg_strategy_name(int strategy);
int zcfg_strategy_parse(const char *name);
/* "webSearch", "think", "image", "longContext", "code", "background",
 * "default"; parse also takes the spellings GoZen users write
 * (long_context, long-context, longcontext, web_search, web-search) and
 * returns -1 for anything else. */
const char *zcfg_scenario_name(int scenario);
int zcfg_scenario_parse(const char *key);

/* Writes the starter config (one provider `anthropic`, profile `default`)
 * with mode 0600, refusing to overwrite an existing file. */
int zcfg_write_starter(const char *path, char *err, size_t errlen);

/* Is listen_host a loopback address (127.0.0.0/8, ::1, ::ffff:127.x)?
 * 0.0.0.0 and :: are not: they answer on every interface. */
int zcfg_listen_is_loopback(const struct zcfg_daemon *d);

/* "127.0.0.1:19841" / "[::1]:19841" for messages and RPC. */
void zcfg_format_listen(const char *host, int port, char *out, size_t outlen);

#endif
