/*  kh_json.h - JSON text to and from the kreishub msgpack format, and the times and
    CSV lines of the CLI's output (the CLI's own; no hub process reads JSON).

    JSON input is untrusted (a file or stdin): nesting, sizes and UTF-8 are checked.
*/
#ifndef KH_JSON_H_INCLUDED
#define KH_JSON_H_INCLUDED

#include <stddef.h>
#include <stdio.h>
#include <msgpack.h>
#include "kh_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses len bytes of JSON text (one value, surrounding white space allowed) and
   appends it to out as msgpack: objects as maps with str keys, arrays, strings
   (escapes and surrogate pairs decoded, UTF-8 checked), integers as int/uint,
   other numbers as float64, true/false/null. Nesting is limited to KH_DEPTH_MAX.
   Returns 0, or -1 with why set (KH_EMALFORMED, naming the byte offset). */
int kh_json_to_msgpack (const char *json, size_t len, msgpack_sbuffer *out,
                        kh_problem_t *why);

/* Sets body fields of builder from a JSON object (UTF-8 text of len bytes): each
   member becomes the field it names, converted to msgpack as it stands (string,
   integer, list, object ...), but a ref given as a string holding an id
   ("017ce42a-3800-7001-8000-00000000002a") becomes that id's bin, and a CR LF in a
   string becomes LF (a text written on Windows; the schema refuses CR). Returns 0, or -1
   with why set (not JSON, not an object, a field the type does not have). What the
   values hold is checked when the builder encodes. */
int kh_json_set_body (kh_builder_t *builder, const char *json, size_t len,
                      kh_problem_t *why);

/* Sets the body field name of builder from plain text as kh_builder_set does, every
   CR LF as LF (a text saved on Windows, or sent from a browser's form). Returns
   what kh_builder_set returns, or -1 with why set if memory ran out. */
int kh_json_set_text (kh_builder_t *builder, const char *name, const char *text,
                      kh_problem_t *why);

/* Turns every CR LF of the len bytes of text into LF, in place (a NUL follows the
   text if it got shorter). Returns the new length. A CR alone stays. */
size_t kh_crlf_to_lf (char *text, size_t len);

/* Returns a malloc'd NUL-terminated JSON text for one msgpack object already
   decoded (a bin of 16 bytes, an id, as a string in kh_id_format's form, any other
   bin as lowercase hex string, ext as null), or NULL on allocation failure. */
char *kh_json_from_object (const msgpack_object *obj);

/* Writes text (NUL-terminated UTF-8) to file as a JSON string, escaped as
   kh_json_from_object escapes a str; "" if memory runs out. */
void kh_json_print_str (FILE *file, const char *text);

/* The pieces of a record's envelope; they point into the unpacked object. */
typedef struct {
    const uint8_t        *id;           /* KH_ID_SIZE bytes */
    const msgpack_object *type;         /* a str */
    const msgpack_object *from;         /* a str */
    uint64_t              ts;           /* publisher's clock, ms since epoch */
    const msgpack_object *body;         /* a map */
} kh_record_pieces_t;

/* Bounds (kh_mp_scan) and unpacks rec's envelope into u, which the caller destroys
   whatever this returns, and picks out its pieces; the envelope is not checked
   against today's schema, so that what was stored can always be shown. Returns 0,
   or -1 if it is not one msgpack map or a piece is missing or of the wrong type. */
int kh_record_unpack (const kh_record_t *rec, msgpack_unpacked *u,
                      kh_record_pieces_t *pieces);

/* Returns the value under the str key in map (the first, if given twice), or NULL
   if map is not a map or holds no such key. */
const msgpack_object *kh_json_lookup (const msgpack_object *map, const char *key);

/* Returns a malloc'd single-line JSON object for a record:
   {"seq":N,"at":"ISO-8601 UTC","id":"uuid","type":"..","from":"..","ts":"ISO",
    "prev_type":N,"prev_sender":N,"prev_pair":N,"body":{...}}
   or NULL if the record's envelope cannot be decoded or memory runs out. */
char *kh_record_to_json (const kh_record_t *rec);

/* The CSV header line (no newline) matching kh_record_to_csv. */
const char *kh_record_csv_header (void);
/* Returns a malloc'd RFC 4180 CSV line (no newline) for a record:
   seq,at,id,type,from,ts,title,body   (body as JSON), or NULL as above. */
char *kh_record_to_csv (const kh_record_t *rec);

/* Returns size bytes at ptr as one malloc'd CSV field (RFC 4180): quoted if always,
   or if they hold sep, a quote, CR or LF; quotes doubled; NUL and bytes that are
   not UTF-8 as U+FFFD. NULL if memory runs out. */
char *kh_csv_field (const char *ptr, size_t size, char sep, bool always);

/* Formats ms since epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (25 bytes). */
void kh_time_format (uint64_t ms, char out [25]);
/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.mmm]]Z?" (UTC) into ms; 0 ok, -1 not a time. */
int kh_time_parse (const char *text, uint64_t *ms);

#ifdef __cplusplus
}
#endif
#endif
