/*  kh_web_svg.h - bar charts as SVG drawn on the server: values in, an <svg> element out.

    The statistics page draws its charts here, so that a page needs no script and
    no resource from elsewhere. Labels are escaped (kh_web_html.h); the chart
    scales to its largest value and says each value beside its bar.
*/
#ifndef KH_WEB_SVG_H_INCLUDED
#define KH_WEB_SVG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "kh_web.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One bar: its label (any text) and its value. */
typedef struct {
    const char *label;
    uint64_t    value;
} kh_web_bar_t;

#define KH_WEB_SVG_BARS_MAX  200        /* bars of a chart, at most; more are cut */

/* Appends to buf an <svg> of count horizontal bars, one row each, in the order
   given, with title (escaped) as its accessible name; no bars at all draw the
   text "Keine Daten". Returns 0, or -1 (buf failed). */
int kh_web_svg_bars (kh_web_buf_t *buf, const char *title, const kh_web_bar_t *bars,
                     size_t count);

#ifdef __cplusplus
}
#endif
#endif
