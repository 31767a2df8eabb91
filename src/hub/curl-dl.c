/* SPDX-License-Identifier: MIT */
/*
 * libcurl, loaded when first used. The hub does not link libcurl: with its
 * TLS stack it maps some 30 libraries and about 5.5 MB of resident pages
 * at every start (measured: hub RSS 3.4 MB without it, 8.9 MB with it), a
 * price only a configuration with remote upstreams should pay. These
 * definitions have the names and types of the libcurl functions the hub
 * uses; the first call dlopen()s libcurl.so.4 and each then calls the real
 * function. If libcurl cannot be loaded, each fails the way libcurl itself
 * reports failure (NULL, CURLE_FAILED_INIT, CURLM_INTERNAL_ERROR), and the
 * remote upstream that needed it is reported as failed.
 */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "log.h"

#define LIBCURL_SONAME "libcurl.so.4"

static void *libcurl;
static bool tried;

static bool load(void)
{
        if (libcurl)
                return true;
        if (tried)
                return false;
        tried = true;
        libcurl = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!libcurl)
                log_error("cannot load %s for the remote upstreams: %s", LIBCURL_SONAME, dlerror());
        return libcurl != NULL;
}

static void *sym(const char *name)
{
        void *p;

        if (!load())
                return NULL;
        p = dlsym(libcurl, name);
        if (!p)
                log_error("%s has no symbol '%s'", LIBCURL_SONAME, name);
        return p;
}

/* One cached pointer per function, resolved on its first call. */
#define RESOLVE(name)                \
        static __typeof__(name) *fn; \
        if (!fn)                     \
        fn = (__typeof__(name) *)sym(#name)

CURLcode(curl_global_init)(long flags)
{
        RESOLVE(curl_global_init);
        return fn ? fn(flags) : CURLE_FAILED_INIT;
}

void(curl_global_cleanup)(void)
{
        RESOLVE(curl_global_cleanup);
        if (fn)
                fn();
}

char *(curl_version)(void)
{
        RESOLVE(curl_version);
        static char none[] = "libcurl (not loaded)";
        return fn ? fn() : none;
}

CURL *(curl_easy_init)(void)
{
        RESOLVE(curl_easy_init);
        return fn ? fn() : NULL;
}

void(curl_easy_cleanup)(CURL *h)
{
        RESOLVE(curl_easy_cleanup);
        if (fn)
                fn(h);
}

/* Options take a long, a pointer (data or function) or a curl_off_t, by their range. */
CURLcode(curl_easy_setopt)(CURL *h, CURLoption opt, ...)
{
        RESOLVE(curl_easy_setopt);
        va_list ap;
        CURLcode r;

        if (!fn)
                return CURLE_FAILED_INIT;
        va_start(ap, opt);
        if (opt < CURLOPTTYPE_OBJECTPOINT)
                r = fn(h, opt, va_arg(ap, long));
        else if (opt < CURLOPTTYPE_OFF_T || opt >= CURLOPTTYPE_BLOB)
                r = fn(h, opt, va_arg(ap, void *));
        else
                r = fn(h, opt, va_arg(ap, curl_off_t));
        va_end(ap);
        return r;
}

/* The argument is always a pointer to where the answer goes. */
CURLcode(curl_easy_getinfo)(CURL *h, CURLINFO info, ...)
{
        RESOLVE(curl_easy_getinfo);
        va_list ap;
        CURLcode r;

        if (!fn)
                return CURLE_FAILED_INIT;
        va_start(ap, info);
        r = fn(h, info, va_arg(ap, void *));
        va_end(ap);
        return r;
}

const char *(curl_easy_strerror)(CURLcode c)
{
        RESOLVE(curl_easy_strerror);
        return fn ? fn(c) : "libcurl is not available";
}

CURLHcode(curl_easy_header)(CURL *h, const char *name, size_t index, unsigned int origin,
                            int request, struct curl_header **hout)
{
        RESOLVE(curl_easy_header);
        return fn ? fn(h, name, index, origin, request, hout) : CURLHE_NOT_BUILT_IN;
}

CURLcode(curl_easy_pause)(CURL *h, int bitmask)
{
        RESOLVE(curl_easy_pause);
        return fn ? fn(h, bitmask) : CURLE_FAILED_INIT;
}

CURLM *(curl_multi_init)(void)
{
        RESOLVE(curl_multi_init);
        return fn ? fn() : NULL;
}

CURLMcode(curl_multi_cleanup)(CURLM *m)
{
        RESOLVE(curl_multi_cleanup);
        return fn ? fn(m) : CURLM_INTERNAL_ERROR;
}

CURLMcode(curl_multi_setopt)(CURLM *m, CURLMoption opt, ...)
{
        RESOLVE(curl_multi_setopt);
        va_list ap;
        CURLMcode r;

        if (!fn)
                return CURLM_INTERNAL_ERROR;
        va_start(ap, opt);
        if (opt < CURLOPTTYPE_OBJECTPOINT)
                r = fn(m, opt, va_arg(ap, long));
        else if (opt < CURLOPTTYPE_OFF_T)
                r = fn(m, opt, va_arg(ap, void *));
        else
                r = fn(m, opt, va_arg(ap, curl_off_t));
        va_end(ap);
        return r;
}

CURLMcode(curl_multi_add_handle)(CURLM *m, CURL *h)
{
        RESOLVE(curl_multi_add_handle);
        return fn ? fn(m, h) : CURLM_INTERNAL_ERROR;
}

CURLMcode(curl_multi_remove_handle)(CURLM *m, CURL *h)
{
        RESOLVE(curl_multi_remove_handle);
        return fn ? fn(m, h) : CURLM_INTERNAL_ERROR;
}

CURLMcode(curl_multi_assign)(CURLM *m, curl_socket_t s, void *p)
{
        RESOLVE(curl_multi_assign);
        return fn ? fn(m, s, p) : CURLM_INTERNAL_ERROR;
}

CURLMcode(curl_multi_socket_action)(CURLM *m, curl_socket_t s, int ev, int *running)
{
        RESOLVE(curl_multi_socket_action);
        return fn ? fn(m, s, ev, running) : CURLM_INTERNAL_ERROR;
}

CURLMsg *(curl_multi_info_read)(CURLM *m, int *left)
{
        RESOLVE(curl_multi_info_read);
        return fn ? fn(m, left) : NULL;
}

const char *(curl_multi_strerror)(CURLMcode c)
{
        RESOLVE(curl_multi_strerror);
        return fn ? fn(c) : "libcurl is not available";
}

struct curl_slist *(curl_slist_append)(struct curl_slist *l, const char *s)
{
        RESOLVE(curl_slist_append);
        return fn ? fn(l, s) : NULL;
}

void(curl_slist_free_all)(struct curl_slist *l)
{
        RESOLVE(curl_slist_free_all);
        if (fn)
                fn(l);
}

CURLU *(curl_url)(void)
{
        RESOLVE(curl_url);
        return fn ? fn() : NULL;
}

void(curl_url_cleanup)(CURLU *u)
{
        RESOLVE(curl_url_cleanup);
        if (fn)
                fn(u);
}

CURLUcode(curl_url_set)(CURLU *u, CURLUPart what, const char *part, unsigned int flags)
{
        RESOLVE(curl_url_set);
        return fn ? fn(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

CURLUcode(curl_url_get)(CURLU *u, CURLUPart what, char **part, unsigned int flags)
{
        RESOLVE(curl_url_get);
        return fn ? fn(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

void(curl_free)(void *p)
{
        RESOLVE(curl_free);
        if (fn)
                fn(p);
}
