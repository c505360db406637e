/*  kh_web_static.c - the files under /static/, carried inside the program (embed_asset.cmake). */
#include <string.h>
#include "kh_web_pages.h"

extern const unsigned char kh_web_asset_app_css [];
extern const size_t kh_web_asset_app_css_size;
extern const unsigned char kh_web_asset_live_js [];
extern const size_t kh_web_asset_live_js_size;

int
kh__web_static (kh_web_req_t *req)
{
    static const struct {
        const char          *name;
        const char          *type;
        const unsigned char *data;
        const size_t        *size;
    } files [] = {
        { "app.css", "text/css; charset=utf-8", kh_web_asset_app_css,
          &kh_web_asset_app_css_size },
        { "live.js", "text/javascript; charset=utf-8", kh_web_asset_live_js,
          &kh_web_asset_live_js_size },
    };
    for (size_t i = 0; i < sizeof files / sizeof files [0]; i++)
        if (strcmp (kh_web_req_rest (req), files [i].name) == 0) {
            kh_web_type (req, files [i].type);
            kh_web_header (req, "Cache-Control", "max-age=300");
            return kh_web_write (req, files [i].data, *files [i].size);
        }
    return kh_web_error (req, 404, "Diese Datei gibt es nicht.");
}
