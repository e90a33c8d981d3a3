#include "answer.h"

#include <stdint.h>
#include <stdio.h>

#include "error_type.h"

double answer_round_ms(double ms) { return (double)(int64_t)(ms * 1000.0 + 0.5) / 1000.0; }

json_t *answer_attempts(const struct policy_attempt *a, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:i, s:s, s:f, s:s}", "provider", a[i].provider->name,
                           "status", a[i].status, "error_type",
                           a[i].error_type ? zen_error_type_name(a[i].error_type) : "none",
                           "duration_ms", answer_round_ms(a[i].duration_ms), "detail", a[i].detail));
    return json_pack("{s:o}", "attempts", arr);
}

void answer_exhausted_message(const struct policy_attempt *a, size_t n, zbuf *msg)
{
    zbuf_append_str(msg, "all providers failed:");
    for (size_t i = 0; i < n; i++) {
        char part[160];
        if (a[i].status)
            snprintf(part, sizeof(part), " [%s] %d (%.0fms)", a[i].provider->name, a[i].status,
                     a[i].duration_ms);
        else
            snprintf(part, sizeof(part), " [%s] %s (%.0fms)", a[i].provider->name,
                     zen_error_type_name(a[i].error_type), a[i].duration_ms);
        zbuf_append_str(msg, part);
    }
    zbuf_append(msg, "", 1);
}
