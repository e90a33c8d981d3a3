/* Unit tests for zend/forward/policy.c, the forwarding policy: every row of the
 * outcome table (docs/operations.md, "Failover"), the request-related 5xx
 * rules, Retry-After in each form, the same-provider retry rule, the cooling
 * skip, and the final answer when every attempt failed. A randomised test
 * checks the table's invariants over every status 100-599. */
#include "policy.h"

#include <CUnit/CUnit.h>
#include <string.h>

#include "common.h"
#include "testutil.h"
#include "upstream.h"

#define POLICY_TEST_SEED 0x9011c7ULL
/* 2015-10-21 07:28:00 GMT in ms: the HTTP-date tests' "now". */
#define NOW_WALL_MS 1445412480000LL

static enum zen_error_type classify(int status, const char *body)
{
    return policy_classify_status(status, body, body ? strlen(body) : 0);
}

/* Row: 401, 402, 403 -> auth; 429 -> rate_limit; both fail the attempt. */
static void test_auth_and_rate_limit_rows(void)
{
    const int auth[] = {401, 402, 403};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(auth); i++) {
        CU_ASSERT_TRUE(policy_is_failure_status(auth[i]));
        CU_ASSERT_EQUAL(classify(auth[i], ""), ZERR_AUTH);
        /* The body never changes an auth status into a request error. */
        CU_ASSERT_EQUAL(classify(auth[i], "{\"error\":{\"type\":\"invalid_request_error\"}}"),
                        ZERR_AUTH);
    }
    CU_ASSERT_TRUE(policy_is_failure_status(429));
    CU_ASSERT_EQUAL(classify(429, ""), ZERR_RATE_LIMIT);
    CU_ASSERT_EQUAL(classify(429, "{\"error\":{\"message\":\"prompt too long\"}}"),
                    ZERR_RATE_LIMIT);
}

/* Row: 5xx (incl. 529) -> server; request-related bodies -> request. */
static void test_server_rows(void)
{
    const int statuses[] = {500, 502, 503, 504, 529, 599};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(statuses); i++) {
        CU_ASSERT_TRUE(policy_is_failure_status(statuses[i]));
        CU_ASSERT_EQUAL(classify(statuses[i], ""), ZERR_SERVER);
        CU_ASSERT_EQUAL(classify(statuses[i], "{\"error\":{\"type\":\"api_error\","
                                              "\"message\":\"overloaded\"}}"),
                        ZERR_SERVER);
        CU_ASSERT_EQUAL(classify(statuses[i], "not json at all"), ZERR_SERVER);
    }
}

static void test_request_related_5xx(void)
{
    /* error.type invalid_request_error */
    CU_ASSERT_EQUAL(classify(500, "{\"error\":{\"type\":\"invalid_request_error\"}}"),
                    ZERR_REQUEST);
    /* each phrase, in any case, in error.message */
    const char *const phrases[] = {"prompt is Too Long", "body TOO LARGE",
                                   "input exceeds maximum tokens", "over the context length",
                                   "the Maximum Context is 200k"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(phrases); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"error\":{\"type\":\"api_error\",\"message\":\"%s\"}}",
                 phrases[i]);
        CU_ASSERT_EQUAL(classify(503, body), ZERR_REQUEST);
        CU_ASSERT_TRUE(policy_request_related(body, strlen(body)));
    }
    /* error as a plain string */
    CU_ASSERT_EQUAL(classify(500, "{\"error\":\"request too large\"}"), ZERR_REQUEST);
    /* a phrase outside error.message does not count */
    CU_ASSERT_EQUAL(classify(500, "{\"message\":\"too long\"}"), ZERR_SERVER);
    CU_ASSERT_EQUAL(classify(500, "{\"error\":{\"type\":\"too long\"}}"), ZERR_SERVER);
    /* nothing, or bytes that are not a document */
    CU_ASSERT_FALSE(policy_request_related(NULL, 0));
    CU_ASSERT_FALSE(policy_request_related("", 0));
    CU_ASSERT_FALSE(policy_request_related("{\"error\":", 9));
}

/* Row: anything else is relayed to the client and ends the request. */
static void test_other_statuses_are_answers(void)
{
    const int answers[] = {100, 200, 201, 204, 206, 301, 304, 400, 404, 408, 409, 413, 422,
                           451, 499};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(answers); i++)
        CU_ASSERT_FALSE(policy_is_failure_status(answers[i]));
}

/* Rows: no response at all -> network, or timeout for the timeouts. */
static void test_transfer_results(void)
{
    CU_ASSERT_EQUAL(policy_classify_result(UPSTREAM_ERR_NETWORK), ZERR_NETWORK);
    CU_ASSERT_EQUAL(policy_classify_result(UPSTREAM_ERR_BAD_RESPONSE), ZERR_NETWORK);
    CU_ASSERT_EQUAL(policy_classify_result(UPSTREAM_ERR_CONNECT_TIMEOUT), ZERR_TIMEOUT);
    CU_ASSERT_EQUAL(policy_classify_result(UPSTREAM_ERR_FIRST_BYTE_TIMEOUT), ZERR_TIMEOUT);
    CU_ASSERT_EQUAL(policy_classify_result(UPSTREAM_ERR_IDLE_TIMEOUT), ZERR_TIMEOUT);
    CU_ASSERT_EQUAL(policy_classify_result(UPSTREAM_ERR_TOTAL_TIMEOUT), ZERR_TIMEOUT);
}

static int64_t retry_after(const char *name, const char *value)
{
    struct http_header h[2] = {{"x-other", "1"}, {(char *)name, (char *)value}};
    return policy_retry_after_ms(h, 2, NOW_WALL_MS);
}

static void test_retry_after_forms(void)
{
    CU_ASSERT_EQUAL(policy_retry_after_ms(NULL, 0, NOW_WALL_MS), -1);
    CU_ASSERT_EQUAL(retry_after("Retry-After", "7"), 7000);
    CU_ASSERT_EQUAL(retry_after("retry-after", "0.5"), 500);
    CU_ASSERT_EQUAL(retry_after("retry-after-ms", "1234"), 1234);
    /* an HTTP date, 30 s after now; one in the past is 0 */
    CU_ASSERT_EQUAL(retry_after("Retry-After", "Wed, 21 Oct 2015 07:28:30 GMT"), 30000);
    CU_ASSERT_EQUAL(retry_after("Retry-After", "Wed, 21 Oct 2015 07:00:00 GMT"), 0);
    CU_ASSERT_EQUAL(retry_after("Retry-After", "soon"), -1);
    CU_ASSERT_EQUAL(retry_after("retry-after-ms", "-5"), -1);
    /* retry-after-ms wins over Retry-After */
    struct http_header both[2] = {{"Retry-After", "9"}, {"retry-after-ms", "250"}};
    CU_ASSERT_EQUAL(policy_retry_after_ms(both, 2, NOW_WALL_MS), 250);
    /* an unreadable retry-after-ms falls back to Retry-After */
    struct http_header bad_ms[2] = {{"retry-after-ms", "x"}, {"Retry-After", "2"}};
    CU_ASSERT_EQUAL(policy_retry_after_ms(bad_ms, 2, NOW_WALL_MS), 2000);
}

static void test_transient(void)
{
    CU_ASSERT_TRUE(policy_transient(ZERR_NETWORK, 0, -1, 5000));
    const int retried[] = {500, 502, 503, 504, 529};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(retried); i++)
        CU_ASSERT_TRUE(policy_transient(ZERR_SERVER, retried[i], -1, 5000));
    CU_ASSERT_FALSE(policy_transient(ZERR_SERVER, 501, -1, 5000));
    CU_ASSERT_FALSE(policy_transient(ZERR_SERVER, 505, -1, 5000));
    /* 429: only when the wait asked for fits max_retry_wait_ms */
    CU_ASSERT_TRUE(policy_transient(ZERR_RATE_LIMIT, 429, -1, 5000));
    CU_ASSERT_TRUE(policy_transient(ZERR_RATE_LIMIT, 429, 5000, 5000));
    CU_ASSERT_FALSE(policy_transient(ZERR_RATE_LIMIT, 429, 5001, 5000));
    /* never auth, request errors, or a silent provider */
    CU_ASSERT_FALSE(policy_transient(ZERR_AUTH, 401, -1, 5000));
    CU_ASSERT_FALSE(policy_transient(ZERR_REQUEST, 500, -1, 5000));
    CU_ASSERT_FALSE(policy_transient(ZERR_TIMEOUT, 0, -1, 5000));
}

static void test_cooling_skip(void)
{
    CU_ASSERT_TRUE(policy_skip_candidate(1, 0));
    CU_ASSERT_FALSE(policy_skip_candidate(1, 1)); /* the last one is always tried */
    CU_ASSERT_FALSE(policy_skip_candidate(0, 0));
    CU_ASSERT_FALSE(policy_skip_candidate(0, 1));
}

static struct zcfg_provider prov_a = {.name = "a"}, prov_b = {.name = "b"};

static struct policy_attempt att(const struct zcfg_provider *p, int status, int type)
{
    return (struct policy_attempt){.provider = p, .status = status, .error_type = type};
}

static void test_exhausted_answer(void)
{
    int own;
    /* one provider with an HTTP answer: its own status, transparently */
    struct policy_attempt one[2] = {att(&prov_a, 503, ZERR_SERVER), att(&prov_a, 401, ZERR_AUTH)};
    CU_ASSERT_EQUAL(policy_exhausted_status(one, 2, &own), 401);
    CU_ASSERT_TRUE(own);
    /* one provider, the last without a response: the envelope */
    struct policy_attempt silent[1] = {att(&prov_a, 0, ZERR_TIMEOUT)};
    CU_ASSERT_EQUAL(policy_exhausted_status(silent, 1, &own), 504);
    CU_ASSERT_FALSE(own);
    /* several providers, all timed out: 504 */
    struct policy_attempt to[2] = {att(&prov_a, 0, ZERR_TIMEOUT), att(&prov_b, 0, ZERR_TIMEOUT)};
    CU_ASSERT_EQUAL(policy_exhausted_status(to, 2, &own), 504);
    CU_ASSERT_FALSE(own);
    /* all rate limited: 429 */
    struct policy_attempt rl[2] = {att(&prov_a, 429, ZERR_RATE_LIMIT),
                                   att(&prov_b, 429, ZERR_RATE_LIMIT)};
    CU_ASSERT_EQUAL(policy_exhausted_status(rl, 2, &own), 429);
    CU_ASSERT_FALSE(own);
    /* anything mixed: 502 */
    struct policy_attempt mix[2] = {att(&prov_a, 0, ZERR_TIMEOUT),
                                    att(&prov_b, 429, ZERR_RATE_LIMIT)};
    CU_ASSERT_EQUAL(policy_exhausted_status(mix, 2, &own), 502);
    struct policy_attempt net[2] = {att(&prov_a, 0, ZERR_NETWORK), att(&prov_b, 500, ZERR_SERVER)};
    CU_ASSERT_EQUAL(policy_exhausted_status(net, 2, &own), 502);
    CU_ASSERT_FALSE(own);
}

/* Passthrough auth: a 401/403 is the client's credential, relayed at once;
 * with the provider's own token it stays the auth row; 402 and 429 never. */
static void test_client_credential_refused(void)
{
    CU_ASSERT_TRUE(policy_client_credential_refused(401, 1));
    CU_ASSERT_TRUE(policy_client_credential_refused(403, 1));
    CU_ASSERT_FALSE(policy_client_credential_refused(401, 0));
    CU_ASSERT_FALSE(policy_client_credential_refused(403, 0));
    CU_ASSERT_FALSE(policy_client_credential_refused(402, 1));
    CU_ASSERT_FALSE(policy_client_credential_refused(429, 1));
    CU_ASSERT_FALSE(policy_client_credential_refused(500, 1));
    CU_ASSERT_FALSE(policy_client_credential_refused(200, 1));
}

/* A probe closes a cooldown on 2xx-4xx other than 429; no answer, 429 and
 * 5xx keep it. Every status 0-599. */
static void test_probe_up(void)
{
    for (int status = 0; status < 600; status++)
        CU_ASSERT_EQUAL(policy_probe_up(status), status >= 200 && status < 500 && status != 429);
    CU_ASSERT_TRUE(policy_probe_up(401));
    CU_ASSERT_TRUE(policy_probe_up(404));
    CU_ASSERT_FALSE(policy_probe_up(429));
    CU_ASSERT_FALSE(policy_probe_up(503));
}

/* A retry on a provider the request already cooled; an earlier request
 * error (not cooled) or another provider does not count. */
static void test_cooled_earlier(void)
{
    struct policy_attempt first[1] = {att(&prov_a, 503, ZERR_SERVER)};
    CU_ASSERT_FALSE(policy_cooled_earlier(first, 1));
    struct policy_attempt retry[2] = {att(&prov_a, 503, ZERR_SERVER), att(&prov_a, 0, ZERR_NETWORK)};
    CU_ASSERT_TRUE(policy_cooled_earlier(retry, 2));
    struct policy_attempt other[2] = {att(&prov_a, 503, ZERR_SERVER), att(&prov_b, 503, ZERR_SERVER)};
    CU_ASSERT_FALSE(policy_cooled_earlier(other, 2));
    struct policy_attempt aba[3] = {att(&prov_a, 503, ZERR_SERVER), att(&prov_b, 503, ZERR_SERVER),
                                    att(&prov_a, 503, ZERR_SERVER)};
    CU_ASSERT_TRUE(policy_cooled_earlier(aba, 3));
    struct policy_attempt request[2] = {att(&prov_a, 500, ZERR_REQUEST),
                                        att(&prov_a, 503, ZERR_SERVER)};
    CU_ASSERT_FALSE(policy_cooled_earlier(request, 2));
}

/* Every status 100-599 with random bodies: a failure status always gets an
 * attempt error type, an auth status always auth, 429 always rate_limit,
 * a 5xx always server or request, and no other status ever fails. */
static void test_random_statuses(void)
{
    static const char *const bodies[] = {
        "", "{}", "{\"error\":{\"type\":\"invalid_request_error\"}}",
        "{\"error\":\"context length\"}", "\xff\xfe", "[1,2]"};
    for (int status = 100; status < 600; status++) {
        const char *body = bodies[tu_rng_below(ZEN_ARRAY_LEN(bodies))];
        int fails = policy_is_failure_status(status);
        CU_ASSERT_EQUAL(fails, status == 401 || status == 402 || status == 403 ||
                                   status == 429 || status >= 500);
        if (!fails)
            continue;
        enum zen_error_type t = classify(status, body);
        if (status < 500) {
            CU_ASSERT_TRUE(t == (status == 429 ? ZERR_RATE_LIMIT : ZERR_AUTH));
        } else {
            CU_ASSERT_TRUE(t == ZERR_SERVER || t == ZERR_REQUEST);
        }
    }
}

void register_tests(void)
{
    tu_rng_seed(POLICY_TEST_SEED);
    CU_pSuite s = CU_add_suite("policy", NULL, NULL);
    TU_ADD(s, test_auth_and_rate_limit_rows);
    TU_ADD(s, test_server_rows);
    TU_ADD(s, test_request_related_5xx);
    TU_ADD(s, test_other_statuses_are_answers);
    TU_ADD(s, test_transfer_results);
    TU_ADD(s, test_retry_after_forms);
    TU_ADD(s, test_transient);
    TU_ADD(s, test_cooling_skip);
    TU_ADD(s, test_exhausted_answer);
    TU_ADD(s, test_random_statuses);
    TU_ADD(s, test_client_credential_refused);
    TU_ADD(s, test_probe_up);
    TU_ADD(s, test_cooled_earlier);
}
