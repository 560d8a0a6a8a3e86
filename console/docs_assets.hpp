#pragma once
// The /docs page of the publisher and the query API: swagger-ui-dist rendering the server's
// own GET /openapi.json, all files local (no CDN; works under a self-only CSP). Embedded at
// build time by console/web (target tributary_docs_assets).
#include <string_view>

namespace tributary::docs {

struct Asset {
    std::string_view path;  // "/docs" (the page), "/docs/swagger-ui-bundle-<hash>.js", ...
    std::string_view content_type;
    std::string_view body;
    std::string_view gzip;  // the body gzip-compressed; empty when not worth it
};

// The asset at `path` ("/docs/" and "/docs/index.html" are the page too), or nullptr.
const Asset* FindDocsAsset(std::string_view path);

}  // namespace tributary::docs
