#include "console/docs_routes.hpp"

#include "common/http_util.hpp"
#include "console/docs_assets.hpp"

namespace tributary::docs {
namespace {

void Serve(const Asset& asset, const common::http::Request& request,
           common::http::Response& response) {
    const bool page = asset.content_type.rfind("text/html", 0) == 0;
    // Hashed file names never change content; the page itself names the current ones.
    response.set_header("Cache-Control", page ? "no-cache" : "public, max-age=31536000, immutable");
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_header("Referrer-Policy", "no-referrer");
    if (page) {
        // Swagger UI sets style attributes and draws its icons from data: URIs.
        response.set_header("Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self' "
                            "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    }
    common::SetPrecompressedContent(request, response, asset.body, asset.gzip, asset.content_type);
}

}  // namespace

void AddDocsRoutes(common::http::Server& server) {
    server.Get("/docs", [](const common::http::Request& request, common::http::Response& response) {
        if (const Asset* asset = FindDocsAsset("/docs")) {
            Serve(*asset, request, response);
        } else {
            common::SetError(response, 404, "not_found",
                             "the API docs were not built into this binary");
        }
    });
    server.Get("/docs/.*",
               [](const common::http::Request& request, common::http::Response& response) {
                   const std::string& path = request.path;
                   const Asset* asset = FindDocsAsset(path == "/docs/" || path == "/docs/index.html"
                                                          ? std::string_view("/docs")
                                                          : std::string_view(path));
                   if (asset == nullptr) {
                       common::SetError(response, 404, "not_found", "no route for " + path);
                       return;
                   }
                   Serve(*asset, request, response);
               });
}

}  // namespace tributary::docs
