#pragma once
// The console's web UI, embedded at build time (console/web: esbuild bundle + index.html).
#include <string_view>

namespace tributary::console {

struct Asset {
    std::string_view path;          // "/index.html", "/assets/app-<hash>.js"
    std::string_view content_type;  // ready for the Content-Type header
    std::string_view body;
    std::string_view gzip;  // the body gzip-compressed; empty when not worth it
};

// The asset at `path`, or nullptr. Files under /assets/ carry a content hash in their name
// (cache them as immutable); /index.html names the current ones (serve it no-cache).
const Asset* FindAsset(std::string_view path);

}  // namespace tributary::console
