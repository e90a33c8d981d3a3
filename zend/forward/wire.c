#include "wire.h"

#include "tr_ctx.h"

enum tr_format wire_for(const struct zcfg_provider *p, int learned, enum tr_format client)
{
    if (p->type != ZCFG_TYPE_OPENAI)
        return TR_FORMAT_A;
    switch (p->openai_api) {
    case ZCFG_OPENAI_CHAT: return TR_FORMAT_C;
    case ZCFG_OPENAI_RESPONSES: return TR_FORMAT_R;
    default: break;
    }
    if (learned == TR_FORMAT_C || learned == TR_FORMAT_R)
        return (enum tr_format)learned;
    return client == TR_FORMAT_R ? TR_FORMAT_R : TR_FORMAT_C;
}

int wire_may_fall_back(const struct zcfg_provider *p)
{
    return p->type == ZCFG_TYPE_OPENAI && p->openai_api == ZCFG_OPENAI_AUTO;
}

const char *wire_name(const struct zcfg_provider *p, int learned, int *is_learned)
{
    *is_learned = 0;
    if (p->type != ZCFG_TYPE_OPENAI)
        return tr_format_name(TR_FORMAT_A);
    if (p->openai_api == ZCFG_OPENAI_CHAT)
        return tr_format_name(TR_FORMAT_C);
    if (p->openai_api == ZCFG_OPENAI_RESPONSES)
        return tr_format_name(TR_FORMAT_R);
    if (learned == TR_FORMAT_C || learned == TR_FORMAT_R) {
        *is_learned = 1;
        return tr_format_name((enum tr_format)learned);
    }
    return "auto";
}
