/*  kh_web_read.c - pages of the store as the recorder would answer them, decoded for a page (see kh_web_pages.h). */
#include "kh_web_pages.h"

/* Fills the ROWS writer w with one page of the query q from store. */
typedef int (s_fill_fn) (kh_store_t *store, const void *q, kh_rows_writer_t *w,
                         bool *more, uint64_t *next, kh_problem_t *why);

static int
s_fill_items (kh_store_t *store, const void *q, kh_rows_writer_t *w, bool *more,
              uint64_t *next, kh_problem_t *why)
{
    return kh_store_items (store, q, w, more, next, why);
}

static int
s_fill_records (kh_store_t *store, const void *q, kh_rows_writer_t *w, bool *more,
                uint64_t *next, kh_problem_t *why)
{
    return kh_store_query (store, q, w, more, next, why);
}

static int
s_fill_audit (kh_store_t *store, const void *q, kh_rows_writer_t *w, bool *more,
              uint64_t *next, kh_problem_t *why)
{
    return kh_store_audit_query (store, q, w, more, next, why);
}

/* Reads one page of q by fill from the request's store into sb (initialised
   here, destroyed by the caller), as a ROWS reply. Returns 0, or -1 after
   logging why. */
static int
s_read (kh_web_req_t *req, s_fill_fn *fill, const void *q, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init (sb);
    kh_store_t *store = kh_web_req_store (req);
    kh_rows_writer_t *w = store ? kh_rows_writer_new (1) : NULL;
    kh_problem_t why = { .reason = "the store cannot be opened" };
    bool more = false;
    uint64_t next = 0;
    int rc = w ? fill (store, q, w, &more, &next, &why) : -1;
    if (rc == 0)
        rc = kh_rows_writer_finish (w, more, next, sb);
    kh_rows_writer_destroy (&w);
    if (rc)
        zsys_warning ("web: cannot read the store: %s", why.reason);
    return rc ? -1 : 0;
}

int
kh__web_read_items (kh_web_req_t *req, const kh_items_query_t *q, kh__web_items_t *page)
{
    memset (&page->rows, 0, sizeof page->rows);
    kh_problem_t why = { 0 };
    if (s_read (req, s_fill_items, q, &page->sb))
        return -1;
    if (kh_item_rows_decode (page->sb.data, page->sb.size, &page->rows, &why) == 0)
        return 0;
    zsys_warning ("web: the store's items page cannot be read: %s", why.reason);
    return -1;
}

int
kh__web_read_records (kh_web_req_t *req, const kh_query_t *q, kh__web_records_t *page)
{
    memset (&page->rows, 0, sizeof page->rows);
    kh_problem_t why = { 0 };
    if (s_read (req, s_fill_records, q, &page->sb))
        return -1;
    if (kh_rows_decode (page->sb.data, page->sb.size, &page->rows, &why) == 0)
        return 0;
    zsys_warning ("web: the store's page cannot be read: %s", why.reason);
    return -1;
}

int
kh__web_read_audit (kh_web_req_t *req, const kh_audit_query_t *q, kh__web_audit_t *page)
{
    memset (&page->rows, 0, sizeof page->rows);
    kh_problem_t why = { 0 };
    if (s_read (req, s_fill_audit, q, &page->sb))
        return -1;
    if (kh_audit_rows_decode (page->sb.data, page->sb.size, &page->rows, &why) == 0)
        return 0;
    zsys_warning ("web: the store's audit page cannot be read: %s", why.reason);
    return -1;
}

void
kh__web_items_release (kh__web_items_t *page)
{
    kh_item_rows_release (&page->rows);
    msgpack_sbuffer_destroy (&page->sb);
}

void
kh__web_records_release (kh__web_records_t *page)
{
    kh_rows_release (&page->rows);
    msgpack_sbuffer_destroy (&page->sb);
}

void
kh__web_audit_release (kh__web_audit_t *page)
{
    kh_audit_rows_release (&page->rows);
    msgpack_sbuffer_destroy (&page->sb);
}
