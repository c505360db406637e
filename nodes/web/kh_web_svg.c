/*  kh_web_svg.c - horizontal bar charts as SVG (see kh_web_svg.h). */
#include <inttypes.h>
#include "kh_web_html.h"
#include "kh_web_svg.h"

#define S_WIDTH     640                 /* the chart's width in user units */
#define S_LABEL     230                 /* of it, the labels' column */
#define S_BARS      330                 /* and the bars' (the values' after it) */
#define S_ROW       22                  /* one bar's row */

/* Appends one row: its label, its bar (length by max) and its value. */
static void
s_row (kh_web_buf_t *buf, const kh_web_bar_t *bar, size_t row, uint64_t max)
{
    unsigned y = (unsigned) row * S_ROW;
    unsigned width = max ? (unsigned) ((double) bar->value / (double) max * S_BARS) : 0;
    if (bar->value && width == 0)
        width = 1;                      /* a value above 0 is never invisible */
    kh_web_buf_printf (buf, "<g class=\"bar\"><text x=\"%u\" y=\"%u\" text-anchor=\"end\">",
                       S_LABEL - 6, y + 15);
    kh_web_html (buf, bar->label ? bar->label : "");
    kh_web_buf_printf (buf, "</text><rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\">"
                       "</rect><text x=\"%u\" y=\"%u\">%" PRIu64 "</text></g>",
                       S_LABEL, y + 3, width, S_ROW - 6, S_LABEL + width + 6, y + 15,
                       bar->value);
}

int
kh_web_svg_bars (kh_web_buf_t *buf, const char *title, const kh_web_bar_t *bars,
                 size_t count)
{
    if (count > KH_WEB_SVG_BARS_MAX)
        count = KH_WEB_SVG_BARS_MAX;
    uint64_t max = 0;
    for (size_t i = 0; i < count; i++)
        if (bars [i].value > max)
            max = bars [i].value;
    unsigned height = count ? (unsigned) count * S_ROW : S_ROW;
    kh_web_buf_printf (buf, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
                       "role=\"img\" viewBox=\"0 0 %u %u\" width=\"%u\" height=\"%u\">"
                       "<title>", S_WIDTH, height, S_WIDTH, height);
    kh_web_html (buf, title);
    kh_web_buf_printf (buf, "</title>");
    if (count == 0)
        kh_web_buf_printf (buf, "<text x=\"0\" y=\"15\">Keine Daten</text>");
    for (size_t i = 0; i < count; i++)
        s_row (buf, &bars [i], i, max);
    return kh_web_buf_printf (buf, "</svg>");
}
