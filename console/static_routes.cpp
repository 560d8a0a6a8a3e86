#include "console/static_routes.hpp"

#include "common/http_util.hpp"
#include "console/assets.hpp"

namespace tributary::console {

namespace {

void SetSecurityHeaders(common::http::Response& response) {
    response.set_header("Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                        "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'");
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_header("Referrer-Policy", "no-referrer");
}

void Serve(const Asset& asset, const common::http::Request& request,
           common::http::Response& response) {
    const bool html = asset.content_type.starts_with("text/html");
    if (html) {
        SetSecurityHeaders(response);
    } else {
        response.set_header("X-Content-Type-Options", "nosniff");
    }
    response.set_header("Cache-Control", asset.path.starts_with("/assets/")
                                             ? "public, max-age=31536000, immutable"
                                             : "no-cache");
    common::SetPrecompressedContent(request, response, asset.body, asset.gzip, asset.content_type);
}

}  // namespace

void RegisterStaticRoutes(common::http::Server& server) {
    server.Get(R"(/api(/.*)?)", [](const common::http::Request& request, common::http::Response& response) {
        common::SetError(response, 404, "not_found", "no route for " + request.path);
    });
    server.Get(R"(/.*)", [](const common::http::Request& request, common::http::Response& response) {
        const std::string path = request.path == "/" ? "/index.html" : request.path;
        if (const Asset* asset = FindAsset(path); asset != nullptr) return Serve(*asset, request, response);
        // A hashed asset that does not exist is a real 404, not a client-side route.
        if (path.starts_with("/assets/")) {
            common::SetError(response, 404, "not_found", "no asset " + path);
            return;
        }
        if (const Asset* index = FindAsset("/index.html"); index != nullptr) return Serve(*index, request, response);
        common::SetError(response, 503, "ui_not_built",
                         "this tributary-console was built without its web UI (console/web); the "
                         "JSON API under /api/v1/console works");
    });
}

}  // namespace tributary::console
