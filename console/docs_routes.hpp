#pragma once
// GET /docs (and /docs/...) on the publisher and the query API: the embedded swagger-ui page
// that renders the server's own /openapi.json.
#include "common/http/server.hpp"

namespace tributary::docs {

void AddDocsRoutes(common::http::Server& server);

}  // namespace tributary::docs
