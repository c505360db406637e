/*  kh_select.c - SELECTs built from filters, values bound, statements cached by shape. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "kh_select.h"

#define S_CACHE_MAX     64          /* statements kept; then the cache starts afresh */
#define S_SQL_MIN       1024        /* first size of the SQL buffer */

/* One bound value: an integer, or a text of its own. */
typedef struct {
    bool          is_text;
    sqlite3_int64 value;
    char         *text;
} s_param_t;

/*  A builder. sql holds len bytes of text (NUL-terminated) with one "?" per entry
    of params, in order. failed: memory ran out since begin; the statement is then
    refused. cache maps an SQL text to its prepared statement. */
struct _kh_select_t {
    sqlite3    *db;
    char       *sql;
    size_t      len;
    size_t      cap;
    s_param_t  *params;
    size_t      count;
    size_t      params_cap;
    bool        failed;
    zhashx_t   *cache;                  /* SQL text -> sqlite3_stmt */
};

static void
s_finalize (void **item)
{
    sqlite3_finalize ((sqlite3_stmt *) *item);
    *item = NULL;
}

kh_select_t *
kh_select_new (sqlite3 *db)
{
    assert (db);
    kh_select_t *self = (kh_select_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->cache = zhashx_new ();
    self->sql = (char *) malloc (S_SQL_MIN);
    if (!self->cache || !self->sql) {
        kh_select_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->cache, s_finalize);
    self->cap = S_SQL_MIN;
    self->sql [0] = 0;
    return self;
}

void
kh_select_destroy (kh_select_t **self_p)
{
    assert (self_p);
    kh_select_t *self = *self_p;
    if (!self)
        return;
    kh_select_begin (self);
    zhashx_destroy (&self->cache);
    free (self->params);
    free (self->sql);
    free (self);
    *self_p = NULL;
}

void
kh_select_begin (kh_select_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->count; i++)
        free (self->params [i].text);
    self->count = 0;
    self->len = 0;
    if (self->sql)
        self->sql [0] = 0;
    self->failed = false;
}

/* Makes room for extra more bytes of SQL and its NUL. Returns 0, or -1 (failed set). */
static int
s_room (kh_select_t *self, size_t extra)
{
    if (self->len + extra + 1 <= self->cap)
        return 0;
    size_t cap = self->cap;
    while (cap < self->len + extra + 1)
        cap *= 2;
    char *sql = (char *) realloc (self->sql, cap);
    if (!sql) {
        self->failed = true;
        return -1;
    }
    self->sql = sql;
    self->cap = cap;
    return 0;
}

void
kh_select_sql (kh_select_t *self, const char *fmt, ...)
{
    assert (self && fmt);
    va_list args;
    va_start (args, fmt);
    int size = vsnprintf (NULL, 0, fmt, args);
    va_end (args);
    if (size < 0 || s_room (self, (size_t) size))
        return;
    va_start (args, fmt);
    vsnprintf (self->sql + self->len, self->cap - self->len, fmt, args);
    va_end (args);
    self->len += (size_t) size;
}

/* Appends "?" and a new parameter; returns it, or NULL (failed set). */
static s_param_t *
s_param (kh_select_t *self)
{
    if (self->count == self->params_cap) {
        size_t cap = self->params_cap ? 2 * self->params_cap : 16;
        s_param_t *params = (s_param_t *) realloc (self->params, cap * sizeof *params);
        if (!params) {
            self->failed = true;
            return NULL;
        }
        self->params = params;
        self->params_cap = cap;
    }
    if (s_room (self, 1))
        return NULL;
    self->sql [self->len++] = '?';
    self->sql [self->len] = 0;
    s_param_t *param = &self->params [self->count++];
    memset (param, 0, sizeof *param);
    return param;
}

void
kh_select_int (kh_select_t *self, uint64_t value)
{
    assert (self);
    s_param_t *param = s_param (self);
    if (param)
        param->value = (sqlite3_int64) (value > INT64_MAX ? INT64_MAX : value);
}

void
kh_select_text (kh_select_t *self, const char *text)
{
    assert (self && text);
    s_param_t *param = s_param (self);
    if (!param)
        return;
    param->is_text = true;
    if (!(param->text = strdup (text)))
        self->failed = true;
}

void
kh_select_in (kh_select_t *self, const char *column, const char *values, size_t width,
              size_t count)
{
    assert (self && column && (values || count == 0));
    if (count == 0)
        return;
    kh_select_sql (self, " AND %s IN (", column);
    for (size_t i = 0; i < count; i++) {
        kh_select_sql (self, i ? ", " : "");
        kh_select_text (self, values + i * width);
    }
    kh_select_sql (self, ")");
}

bool
kh_select_exact (const char *values, size_t width, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strchr (values + i * width, '*'))
            return false;
    return true;
}

void
kh_select_senders (kh_select_t *self, const char *column, const char *values,
                   size_t width, size_t count)
{
    assert (self && column && (values || count == 0));
    if (count == 0)
        return;
    kh_select_sql (self, " AND (");
    for (size_t i = 0; i < count; i++) {
        const char *value = values + i * width;
        const char *star = strchr (value, '*');
        kh_select_sql (self, "%s", i ? " OR " : "");
        if (!star) {
            kh_select_sql (self, "%s = ", column);
            kh_select_text (self, value);
            continue;
        }
        char low [KH_SENDER_MAX + 1], high [KH_SENDER_MAX + 2];
        size_t len = (size_t) (star - value) < sizeof low ? (size_t) (star - value)
                                                          : sizeof low - 1;
        memcpy (low, value, len);
        low [len] = 0;
        memcpy (high, low, len);
        memcpy (high + len, ":", 2);
        kh_select_sql (self, "(%s >= ", column);
        kh_select_text (self, low);
        kh_select_sql (self, " AND %s < ", column);
        kh_select_text (self, high);
        kh_select_sql (self, ")");
    }
    kh_select_sql (self, ")");
}

/* Appends the len bytes of word to out (cap bytes, used so far *used) as an FTS5
   string: in double quotes, each '"' doubled; then " *" if prefix. False if it does
   not fit. */
static bool
s_quote (char *out, size_t cap, size_t *used, const char *word, size_t len, bool prefix)
{
    size_t need = len + 2 + (prefix ? 2 : 0) + (*used ? 1 : 0);
    for (size_t i = 0; i < len; i++)
        need += word [i] == '"';
    if (*used + need + 1 > cap)
        return false;
    char *at = out + *used;
    if (*used)
        *at++ = ' ';
    *at++ = '"';
    for (size_t i = 0; i < len; i++) {
        *at++ = word [i];
        if (word [i] == '"')
            *at++ = '"';
    }
    *at++ = '"';
    if (prefix) {
        memcpy (at, " *", 2);
        at += 2;
    }
    *at = 0;
    *used = (size_t) (at - out);
    return true;
}

void
kh_select_match (kh_select_t *self, const char *search)
{
    assert (self && search);
    /* Each byte of the search becomes at most two, and each word adds five. */
    size_t cap = 5 * strlen (search) + 8;
    char *expr = (char *) malloc (cap);
    if (!expr) {
        self->failed = true;
        return;
    }
    size_t used = 0;
    expr [0] = 0;
    for (const char *at = search; *at; ) {
        at += strspn (at, " ");
        size_t len = strcspn (at, " ");
        size_t stem = len;
        while (stem > 0 && at [stem - 1] == '*')
            stem--;
        if (stem > 0 && !s_quote (expr, cap, &used, at, stem, stem < len))
            self->failed = true;
        at += len;
    }
    /* "" is a string of no token: FTS5 matches nothing with it */
    kh_select_text (self, used ? expr : "\"\"");
    free (expr);
}

/* Binds the parameters built to stmt. */
static void
s_bind (kh_select_t *self, sqlite3_stmt *stmt)
{
    for (size_t i = 0; i < self->count; i++) {
        const s_param_t *param = &self->params [i];
        if (param->is_text)
            sqlite3_bind_text (stmt, (int) i + 1, param->text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64 (stmt, (int) i + 1, param->value);
    }
}

sqlite3_stmt *
kh_select_statement (kh_select_t *self, kh_problem_t *why)
{
    assert (self);
    if (self->failed) {
        kh_problem (why, KH_ENOMEM, "store: out of memory for a statement");
        return NULL;
    }
    sqlite3_stmt *stmt = (sqlite3_stmt *) zhashx_lookup (self->cache, self->sql);
    if (!stmt) {
        if (zhashx_size (self->cache) >= S_CACHE_MAX)
            zhashx_purge (self->cache);     /* none is in use: one at a time */
        if (sqlite3_prepare_v3 (self->db, self->sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                                NULL) != SQLITE_OK) {
            kh_problem (why, KH_ESTORE, "store: prepare a query: %s",
                        sqlite3_errmsg (self->db));
            sqlite3_finalize (stmt);
            return NULL;
        }
        if (zhashx_insert (self->cache, self->sql, stmt)) {
            sqlite3_finalize (stmt);
            kh_problem (why, KH_ENOMEM, "store: out of memory for a statement");
            return NULL;
        }
    }
    s_bind (self, stmt);
    return stmt;
}

void
kh_select_end (kh_select_t *self, sqlite3_stmt *stmt)
{
    assert (self);
    if (!stmt)
        return;
    sqlite3_reset (stmt);
    sqlite3_clear_bindings (stmt);      /* no pointer into the params outlives them */
}

const char *
kh_select_text_of (kh_select_t *self)
{
    assert (self);
    return self->sql;
}
