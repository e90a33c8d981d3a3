/* http_header.h -- one HTTP header field, as a types-only header.
 *
 * Both the inbound server and the upstream client pass header lists around;
 * keeping the struct here lets upstream.h name it without including the
 * HTTP server. */
#ifndef ZEND_HTTP_HEADER_H
#define ZEND_HTTP_HEADER_H

struct http_header {
    char *name;
    char *value;
};

#endif
